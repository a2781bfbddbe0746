//! Base64 exactly as the browser's `atob` reads it (WHATWG "forgiving-base64
//! decode"). Next.js decodes both the encryption key and every bound-args
//! payload with `atob`, so the guard must accept and reject precisely the same
//! strings: a stricter decoder would call valid payloads tampered, a looser one
//! would vouch for payloads Next.js then throws on.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, Engine};

/// Padding has been stripped by the time this engine runs, and `atob` ignores
/// non-zero bits in the last character, so neither may cause a rejection here.
const FORGIVING: GeneralPurpose = GeneralPurpose::new(
  &alphabet::STANDARD,
  GeneralPurposeConfig::new()
    .with_decode_allow_trailing_bits(true)
    .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

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

/// Decodes `input` with `atob` semantics into `out` (cleared first).
///
/// The common case, a payload without whitespace, is decoded without copying
/// the input.
pub fn decode_into(input: &[u8], out: &mut Vec<u8>) -> Result<(), AtobError> {
  out.clear();
  let scratch: Vec<u8>;
  let mut data: &[u8] = input;
  if input.iter().any(|&b| is_ascii_whitespace(b)) {
    scratch = input.iter().copied().filter(|&b| !is_ascii_whitespace(b)).collect();
    data = &scratch;
  }
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
  if let Some(pos) = data.iter().position(|&b| !is_base64_byte(b)) {
    return Err(AtobError::InvalidByte(original_index(input, pos)));
  }
  out.reserve(data.len() / 4 * 3 + 3);
  // Every byte is in the alphabet and the length is valid, so this cannot
  // fail; map the impossible case to a rejection rather than a panic anyway.
  FORGIVING
    .decode_vec(data, out)
    .map_err(|_| AtobError::InvalidLength)

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
}
