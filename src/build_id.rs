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
    Err(GuardError::new(Code::InvalidArgValue, message!(timestamp, name = name, value = value)))
  }
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
  fn refresh_window() {
    assert!(!should_force_refresh(50.0, 100.0, 1000.0, 500.0).unwrap());
    assert!(should_force_refresh(50.0, 100.0, 1000.0, 1100.0).unwrap());
    assert!(!should_force_refresh(100.0, 100.0, 0.0, 5000.0).unwrap());
    assert!(should_force_refresh(99.0, 100.0, 0.0, 100.0).unwrap());
    assert_eq!(should_force_refresh(f64::NAN, 1.0, 0.0, 1.0).unwrap_err().code, Code::InvalidArgValue);
    assert_eq!(should_force_refresh(1.0, 1.0, -1.0, 1.0).unwrap_err().code, Code::InvalidArgValue);
  }
}
