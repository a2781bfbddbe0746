//! Base64 exactly as the browser's `atob` reads it (WHATWG "forgiving-base64
//! decode"). Next.js decodes both the encryption key and every bound-args
//! payload with `atob`, so the guard must accept and reject precisely the same
//! strings: a stricter decoder would call valid payloads tampered, a looser one
//! would vouch for payloads Next.js then throws on.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, Engine, Simd};
use std::sync::LazyLock;

/// Padding has been stripped by the time this engine runs, and `atob` ignores
/// non-zero bits in the last character, so neither may cause a rejection here.
const FORGIVING_CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
  .with_decode_allow_trailing_bits(true)
  .with_decode_padding_mode(DecodePaddingMode::RequireNone);
const FORGIVING: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, FORGIVING_CONFIG);

/// Canonical output: standard alphabet with padding, as `btoa` writes it.
pub const CANONICAL: GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Why `atob` would throw `InvalidCharacterError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtobError {
  /// A byte outside the base64 alphabet, at this index of the input.
  InvalidByte(usize),
  /// After removing whitespace and padding, the length is 1 mod 4.
  InvalidLength,
}

/// ASCII whitespace as the Infra standard defines it (TAB, LF, FF, CR, SPACE).
#[inline]
pub fn is_ascii_whitespace(b: u8) -> bool {
  matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

#[inline]
fn is_base64_byte(b: u8) -> bool {
  b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// The same decoder as [`FORGIVING`], with an AVX2 (x86_64) or NEON
/// (aarch64) kernel chosen at run time; the scalar engine alone decodes
/// under 200 MB/s, which made base64 most of the cost of a large payload.
static FAST: LazyLock<Simd> = LazyLock::new(|| Simd::standard(FORGIVING_CONFIG));

/// Most bytes `input` can decode to; the size of an output buffer for
/// [`decode_to_slice`].
#[inline]
pub fn max_decoded_len(input_len: usize) -> usize {
  input_len / 4 * 3 + 3
}

/// Removes `atob`'s optional padding from whitespace-free `data` and checks
/// the remaining length.
#[inline]
fn strip_padding(mut data: &[u8]) -> Result<&[u8], AtobError> {
  if data.len().is_multiple_of(4) {
    if data.ends_with(b"==") {
      data = &data[..data.len() - 2];
    } else if data.ends_with(b"=") {
      data = &data[..data.len() - 1];
    }
  }
  if data.len() % 4 == 1 {
    return Err(AtobError::InvalidLength);
  }
  Ok(data)
}

/// Decodes `input` with `atob` semantics into `out`, which must hold
/// [`max_decoded_len`] bytes; returns the decoded length.
///
/// The common case, a payload without whitespace, is decoded in one pass
/// straight from the input. Any failure of that pass (whitespace, a stray
/// character, a bad length) is decided again by the exact, slower path, so
/// the fast path can only ever agree with it.
pub fn decode_to_slice(input: &[u8], out: &mut [u8]) -> Result<usize, AtobError> {
  debug_assert!(out.len() >= max_decoded_len(input.len()));
  if let Ok(data) = strip_padding(input) {
    // The engine accepts only alphabet bytes, so success here means the
    // input had no whitespace and the exact path would decode it the same.
    if let Ok(n) = FAST.decode_slice(data, out) {
      return Ok(n);
    }
  }
  let scratch: Vec<u8>;
  let mut data: &[u8] = input;
  if input.iter().any(|&b| is_ascii_whitespace(b)) {
    scratch = input.iter().copied().filter(|&b| !is_ascii_whitespace(b)).collect();
    data = &scratch;
  }
  let data = strip_padding(data)?;
  if let Some(pos) = data.iter().position(|&b| !is_base64_byte(b)) {
    return Err(AtobError::InvalidByte(original_index(input, pos)));
  }
  // Every byte is in the alphabet and the length is valid, so this cannot
  // fail; map the impossible case to a rejection rather than a panic anyway.
  FORGIVING.decode_slice(data, out).map_err(|_| AtobError::InvalidLength)
}

/// Decodes `input` with `atob` semantics into `out` (cleared first).
pub fn decode_into(input: &[u8], out: &mut Vec<u8>) -> Result<(), AtobError> {
  out.clear();
  out.resize(max_decoded_len(input.len()), 0);
  match decode_to_slice(input, out) {
    Ok(n) => {
      out.truncate(n);
      Ok(())
    }
    Err(e) => {
      out.clear();
      Err(e)
    }
  }
}

/// Decodes `input` with `atob` semantics into a new vector.
pub fn decode(input: &[u8]) -> Result<Vec<u8>, AtobError> {
  let mut out = Vec::new();
  decode_into(input, &mut out)?;
  Ok(out)
}

/// Maps an index in the whitespace-free input back to the original input.
fn original_index(input: &[u8], pos_without_ws: usize) -> usize {
  input
    .iter()
    .enumerate()
    .filter(|(_, &b)| !is_ascii_whitespace(b))
    .nth(pos_without_ws)
    .map(|(i, _)| i)
    .unwrap_or(input.len())
}

#[cfg(test)]
mod tests {
  use super::*;

  fn ok(s: &str) -> Vec<u8> {
    decode(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?} rejected: {e:?}"))
  }

  #[test]
  fn accepts_what_atob_accepts() {
    assert_eq!(ok("aGk="), b"hi");
    assert_eq!(ok("aGk"), b"hi");
    assert_eq!(ok(" a G\tk\n=\r\x0c"), b"hi");
    assert_eq!(ok(""), b"");
    assert_eq!(ok("YQ=="), b"a");
    assert_eq!(ok("YQ"), b"a");
    // Non-zero trailing bits are discarded, not rejected.
    assert_eq!(ok("YR=="), b"a");
  }

  #[test]
  fn rejects_what_atob_rejects() {
    assert_eq!(decode(b"a"), Err(AtobError::InvalidLength));
    assert_eq!(decode(b"aGk=="), Err(AtobError::InvalidLength));
    assert_eq!(decode(b"aG=k"), Err(AtobError::InvalidByte(2)));
    assert_eq!(decode(b"YQ="), Err(AtobError::InvalidByte(2)));
    assert_eq!(decode(b"YQ==="), Err(AtobError::InvalidLength));
    assert_eq!(decode(b"a-b_"), Err(AtobError::InvalidByte(1)));
    assert_eq!(decode(b" \"YQ==\""), Err(AtobError::InvalidByte(1)));
    // Vertical tab and NBSP are not ASCII whitespace for atob.
    assert_eq!(decode(b"YQ\x0b=="), Err(AtobError::InvalidLength));
    assert!(decode("YQ\u{a0}A=".as_bytes()).is_err());
  }

  /// Long inputs go through the SIMD kernel first: every way it can fail
  /// must end in the exact path's verdict, at the right position.
  #[test]
  fn fast_path_agrees_with_exact_path_on_long_inputs() {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let text = CANONICAL.encode(&bytes);
    assert_eq!(decode(text.as_bytes()).unwrap(), bytes);
    assert_eq!(decode(text.trim_end_matches('=').as_bytes()).unwrap(), bytes);
    for at in [0, 1, 31, 32, 33, 100, text.len() / 2, text.len() - 5] {
      let spaced = format!("{}\n {}", &text[..at], &text[at..]);
      assert_eq!(decode(spaced.as_bytes()).unwrap(), bytes, "whitespace at {at}");
      let mut bad = text.clone().into_bytes();
      bad[at] = b'-';
      assert_eq!(decode(&bad), Err(AtobError::InvalidByte(at)), "'-' at {at}");
      let mut padded = text.clone().into_bytes();
      padded[at] = b'=';
      assert!(decode(&padded).is_err(), "'=' at {at}");
    }
    let mut out = vec![0u8; max_decoded_len(text.len())];
    assert_eq!(decode_to_slice(text.as_bytes(), &mut out), Ok(bytes.len()));
    assert_eq!(&out[..bytes.len()], &bytes[..]);
  }
}
