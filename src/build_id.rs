//! Build identity comparison and key-rotation notice windows.

use subtle::ConstantTimeEq;

use crate::errors::{Code, GuardError, GuardResult};
use crate::rules::{self, message};

/// Longest build ID accepted, in bytes. Real ones (`BUILD_ID`, git SHAs,
/// deployment IDs) are far shorter; the cap bounds work on header input.
pub const MAX_BUILD_ID_LEN: usize = rules::MAX_BUILD_ID_BYTES;

/// How a client's build identity relates to the server's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildIdMatch {
  Same,
  Different,
  /// At least one side is absent or empty: nothing can be concluded, and in
  /// particular not that they are the same.
  Unknown,
}

/// Compares two build IDs. Equal-length values are compared in constant time,
/// so a client probing with guesses learns nothing from timing.
pub fn compare(client: Option<&[u8]>, server: Option<&[u8]>) -> GuardResult<BuildIdMatch> {
  for id in [client, server].into_iter().flatten() {
    if id.len() > MAX_BUILD_ID_LEN {
      let message = message!(buildIdTooLong, bytes = id.len(), limit = MAX_BUILD_ID_LEN);
      return Err(GuardError::new(Code::BuildIdTooLong, message));
    }
  }
  Ok(match (client, server) {
    (Some(c), Some(s)) if !c.is_empty() && !s.is_empty() => {
      if c.ct_eq(s).into() {
        BuildIdMatch::Same
      } else {
        BuildIdMatch::Different
      }
    }
    _ => BuildIdMatch::Unknown,
  })
}

fn timestamp(name: &str, value: f64) -> GuardResult<f64> {
  if value.is_finite() && value >= 0.0 {
    Ok(value)
  } else {
    Err(GuardError::new(Code::InvalidArgValue, message!(timestamp, name = name, value = js_number(value))))
  }
}

/// A number as JavaScript's `String(number)` writes it (`Infinity`, `1e+21`,
/// `-5e-324`), so that a message quoting one reads the same on both backends.
/// Rust's `{:e}` gives the same shortest round-trip digits; only the layout
/// differs.
fn js_number(value: f64) -> String {
  if value.is_nan() {
    return "NaN".into();
  }
  if value.is_infinite() {
    return if value > 0.0 { "Infinity" } else { "-Infinity" }.into();
  }
  if value == 0.0 {
    return "0".into();
  }
  let sign = if value < 0.0 { "-" } else { "" };
  // `{:e}` of a finite non-zero number: `d[.ddd]e[-]x`.
  let exp_form = format!("{:e}", value.abs());
  let (mantissa, exponent) = exp_form.split_once('e').unwrap_or((&exp_form, "0"));
  let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
  let k = digits.len() as i32;
  // The decimal point sits after `n` digits (ECMAScript Number::toString).
  let n = exponent.parse::<i32>().unwrap_or(0) + 1;
  let body = if k <= n && n <= 21 {
    format!("{digits}{}", "0".repeat((n - k) as usize))
  } else if 0 < n && n <= 21 {
    format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
  } else if -6 < n && n <= 0 {
    format!("0.{}{digits}", "0".repeat(-n as usize))
  } else {
    let fraction = if k > 1 { format!(".{}", &digits[1..]) } else { String::new() };
    format!("{}{fraction}e{}{}", &digits[..1], if n > 0 { "+" } else { "-" }, (n - 1).abs())
  };
  format!("{sign}{body}")
}

/// Whether a tab must reload because of a key rotation.
///
/// A tab loaded before `rotated_at` holds payloads sealed with the old key.
/// They keep verifying (as `previous-key`) while the old key stays in the
/// keyring; `notice_ms` is that grace period. Once it has passed, such a tab
/// must reload. Tabs loaded at or after the rotation never need to.
pub fn should_force_refresh(client_loaded_at: f64, rotated_at: f64, notice_ms: f64, now: f64) -> GuardResult<bool> {
  let loaded = timestamp("clientLoadedAt", client_loaded_at)?;
  let rotated = timestamp("rotatedAt", rotated_at)?;
  let notice = timestamp("noticeMs", notice_ms)?;
  let now = timestamp("now", now)?;
  Ok(loaded < rotated && now >= rotated + notice)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn compares() {
    assert_eq!(compare(Some(b"abc"), Some(b"abc")).unwrap(), BuildIdMatch::Same);
    assert_eq!(compare(Some(b"abc"), Some(b"abd")).unwrap(), BuildIdMatch::Different);
    assert_eq!(compare(Some(b"abc"), Some(b"abcd")).unwrap(), BuildIdMatch::Different);
    assert_eq!(compare(Some(b""), Some(b"")).unwrap(), BuildIdMatch::Unknown);
    assert_eq!(compare(None, None).unwrap(), BuildIdMatch::Unknown);
    assert_eq!(compare(Some(b"a"), None).unwrap(), BuildIdMatch::Unknown);
    assert_eq!(compare(Some(&[b'a'; 1025]), Some(b"a")).unwrap_err().code, Code::BuildIdTooLong);
  }

  #[test]
  fn numbers_read_as_in_javascript() {
    let cases: [(f64, &str); 16] = [
      (f64::NAN, "NaN"),
      (f64::INFINITY, "Infinity"),
      (f64::NEG_INFINITY, "-Infinity"),
      (-0.0, "0"),
      (-1.0, "-1"),
      (123.456, "123.456"),
      (0.000001, "0.000001"),
      (1e-7, "1e-7"),
      (-1.5e-7, "-1.5e-7"),
      (1e20, "100000000000000000000"),
      (123456789012345680000.0, "123456789012345680000"),
      (1e21, "1e+21"),
      (-1.2345e25, "-1.2345e+25"),
      (5e-324, "5e-324"),
      (f64::MAX, "1.7976931348623157e+308"),
      (0.1 + 0.2, "0.30000000000000004"),
    ];
    for (value, js) in cases {
      assert_eq!(js_number(value), js, "{value:?}");
    }
  }

  #[test]
  fn refresh_window() {
    assert!(!should_force_refresh(50.0, 100.0, 1000.0, 500.0).unwrap());
    assert!(should_force_refresh(50.0, 100.0, 1000.0, 1100.0).unwrap());
    assert!(!should_force_refresh(100.0, 100.0, 0.0, 5000.0).unwrap());
    assert!(should_force_refresh(99.0, 100.0, 0.0, 100.0).unwrap());
    assert_eq!(should_force_refresh(f64::NAN, 1.0, 0.0, 1.0).unwrap_err().code, Code::InvalidArgValue);
    assert_eq!(should_force_refresh(1.0, 1.0, -1.0, 1.0).unwrap_err().code, Code::InvalidArgValue);
  }
}
