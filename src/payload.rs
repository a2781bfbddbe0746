//! Next.js encrypted bound-args ("closure") payloads, identical in 14, 15 and
//! 16: `base64(iv[16] ‖ AES-GCM ciphertext ‖ tag[16])`, no associated data,
//! plaintext = UTF-8 of `actionId + flightRows`. Decoding follows Next.js
//! step for step (`atob`, IV slice, decrypt, `TextDecoder`, `startsWith`), so
//! the verdict here is the verdict Next.js would reach.

use base64::Engine;

use crate::atob::{self, CANONICAL};
use crate::errors::{Code, GuardError, GuardResult};
use crate::keyring::{Keyring, IV_LEN, TAG_LEN};
use crate::random::fill_random;
use crate::rules::{self, message};
use zeroize::Zeroize;

/// `TextDecoder` (which Next.js uses) drops a leading UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why a payload could not even be tried against a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
  /// Longer than the keyring's cap; rejected before any work.
  TooLarge,
  /// `atob` would throw `InvalidCharacterError`.
  NotBase64,
  /// Too short to hold IV, action ID and tag. (Next.js itself reports
  /// "data too small" below IV + tag and a failed tag check above it.)
  TooShort,
}

/// What a payload is, relative to a keyring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
  /// Sealed with the current key for this action.
  Current,
  /// Sealed with previous key number `n` (1-based index into the keyring):
  /// a key rotation, not an attack.
  Previous(usize),
  /// Authentic under key `n` (0 = current) but made for another action.
  WrongAction(usize),
  /// No key authenticates it: a key this server does not hold, or tampering.
  UnknownKey,
  /// Not a payload at all.
  Malformed(Malformed),
}

impl Verdict {
  /// A compact integer form for the JavaScript binding (one small number
  /// crosses the boundary instead of an object), from the `verdicts` of the
  /// table the JS facade reads too (`lib/core/rules.json`): `current + n`
  /// for key n, `wrongAction + n` for another action under key n, and one
  /// code each for unknown key, too large, not base64 and too short.
  pub fn code(self) -> u32 {
    match self {
      Verdict::Current => rules::VERDICT_CURRENT,
      Verdict::Previous(n) => rules::VERDICT_CURRENT + n as u32,
      Verdict::WrongAction(n) => rules::VERDICT_WRONG_ACTION + n as u32,
      Verdict::UnknownKey => rules::VERDICT_UNKNOWN_KEY,
      Verdict::Malformed(Malformed::TooLarge) => rules::VERDICT_TOO_LARGE,
      Verdict::Malformed(Malformed::NotBase64) => rules::VERDICT_NOT_BASE64,
      Verdict::Malformed(Malformed::TooShort) => rules::VERDICT_TOO_SHORT,
    }
  }
}

/// Checks that `id` is a Server Action ID: 40 (Next.js 14) or 42 (15, 16)
/// lowercase hex characters.
pub fn validate_action_id(id: &[u8]) -> GuardResult<()> {
  // A fold with `&`, not `all`: no early exit, so the loop vectorises (this runs on every call).
  let hex = id.iter().fold(true, |ok, &b| ok & ((b.wrapping_sub(b'0') < 10) | (b.wrapping_sub(b'a') < 6)));
  let length_ok = rules::ACTION_ID_LENGTHS.contains(&id.len());
  if length_ok && hex {
    return Ok(());
  }
  let problem = if length_ok { message!(actionIdChars) } else { message!(actionIdLength, length = id.len()) };
  Err(GuardError::new(Code::ActionId, message!(actionId, problem = problem)))
}

/// Decoded payload parts, borrowed from one decode buffer.
struct Parts<'a> {
  iv: [u8; IV_LEN],
  body: &'a mut [u8],
  tag: [u8; TAG_LEN],
}

fn split(buf: &mut [u8], min_plaintext: usize) -> Option<Parts<'_>> {
  if buf.len() < IV_LEN + min_plaintext + TAG_LEN {
    return None;
  }
  let (iv, rest) = buf.split_at_mut(IV_LEN);
  let (body, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
  Some(Parts { iv: iv.try_into().ok()?, body, tag: tag.try_into().ok()? })
}

fn strip_prefix<'a>(plain: &'a [u8], action_id: &[u8]) -> Option<&'a [u8]> {
  plain.strip_prefix(BOM).unwrap_or(plain).strip_prefix(action_id)
}

/// Payloads whose decoded bytes fit in these (up to 340 and 2,044 characters
/// of base64: typical closures, and plaintexts up to ~1.5 KiB) are decoded on
/// the stack, without an allocation; the small size keeps zeroing cheap for
/// the common case. Larger payloads go to a heap buffer, where the allocation
/// is noise next to the AES work.
const STACK_DECODE_SMALL: usize = 256;
const STACK_DECODE_LARGE: usize = 1536;

/// Runs `f` with a zeroed buffer of at least `len` bytes. The buffer ends up
/// holding decrypted closure arguments, so its used part is wiped before the
/// stack frame or the heap block is given back.
fn with_buffer<R>(len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
  fn run<R>(buf: &mut [u8], len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
    let used = len.min(buf.len());
    let result = f(buf);
    buf[..used].zeroize();
    result
  }
  if len <= STACK_DECODE_SMALL {
    run(&mut [0u8; STACK_DECODE_SMALL], len, f)
  } else if len <= STACK_DECODE_LARGE {
    run(&mut [0u8; STACK_DECODE_LARGE], len, f)
  } else {
    run(&mut vec![0u8; len], len, f)
  }
}

/// Decrypts with the first key that authenticates the payload, decoding into
/// `buf` (at least [`atob::max_decoded_len`] bytes).
/// Returns `Err(verdict)` when nothing decrypts, else `(key index, plaintext)`.
/// A plaintext shorter than the action ID cannot be for this action, so
/// such payloads are rejected before any cryptography.
fn decrypt<'b>(
  ring: &Keyring,
  payload: &[u8],
  action_id: &[u8],
  buf: &'b mut [u8],
) -> Result<(usize, &'b [u8]), Verdict> {
  if payload.len() > ring.max_payload() {
    // The JS facade counts UTF-16 units, Rust sees UTF-8 bytes: the two differ
    // only for non-ASCII text, which is not base64 whatever its length.
    return Err(Verdict::Malformed(if payload.is_ascii() { Malformed::TooLarge } else { Malformed::NotBase64 }));
  }
  let n = atob::decode_to_slice(payload, buf).map_err(|_| Verdict::Malformed(Malformed::NotBase64))?;
  let parts = split(&mut buf[..n], action_id.len()).ok_or(Verdict::Malformed(Malformed::TooShort))?;
  // GCM checks the tag before touching the buffer, so a failed key leaves the
  // ciphertext intact for the next one.
  let index =
    ring.entries().iter().position(|key| key.open(&parts.iv, parts.body, &parts.tag)).ok_or(Verdict::UnknownKey)?;
  Ok((index, parts.body))
}

/// Classifies a payload for an action without exposing its plaintext.
/// `action_id` must have passed [`validate_action_id`].
pub fn verify(ring: &Keyring, payload: &[u8], action_id: &[u8]) -> Verdict {
  // Over the cap, `decrypt` answers before touching the buffer: do not size
  // one for a payload that will be refused.
  let len = if payload.len() > ring.max_payload() { 0 } else { atob::max_decoded_len(payload.len()) };
  with_buffer(len, |buf| match decrypt(ring, payload, action_id, buf) {
    Err(verdict) => verdict,
    Ok((index, plain)) => match (strip_prefix(plain, action_id), index) {
      (None, _) => Verdict::WrongAction(index),
      (Some(_), 0) => Verdict::Current,
      (Some(_), n) => Verdict::Previous(n),
    },
  })
}

/// An opened payload.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened {
  /// Which key opened it (0 = current).
  pub key_index: usize,
  /// The Flight rows after the action ID, decoded as `TextDecoder` does.
  pub rows: String,
}

fn verdict_error(verdict: Verdict, ring: &Keyring) -> GuardError {
  match verdict {
    // Only the raw binding gets here: the facade refuses an oversized payload
    // itself, with its own message.
    Verdict::Malformed(Malformed::TooLarge) => GuardError::new(
      Code::PayloadTooLarge,
      format!(
        "The payload is longer than this keyring's limit of {} characters (option maxPayloadBytes).",
        ring.max_payload()
      ),
    ),
    Verdict::Malformed(Malformed::NotBase64) => GuardError::new(Code::PayloadNotBase64, message!(payloadNotBase64)),
    Verdict::Malformed(Malformed::TooShort) => {
      GuardError::new(Code::PayloadTooShort, message!(payloadTooShort, ivBytes = IV_LEN, tagBytes = TAG_LEN))
    }
    Verdict::UnknownKey => {
      let check_values = ring.entries().iter().map(|e| e.check_value()).collect::<Vec<_>>().join(", ");
      GuardError::new(Code::PayloadUnknownKey, message!(payloadUnknownKey, checkValues = check_values))
    }
    Verdict::WrongAction(_) | Verdict::Current | Verdict::Previous(_) => {
      GuardError::new(Code::PayloadWrongAction, message!(payloadWrongAction))
    }
  }
}

/// Decrypts a payload for an action and returns its Flight rows. Fails with
/// the same distinctions as [`verify`], as errors.
pub fn open(ring: &Keyring, payload: &[u8], action_id: &[u8]) -> GuardResult<Opened> {
  let len = if payload.len() > ring.max_payload() { 0 } else { atob::max_decoded_len(payload.len()) };
  with_buffer(len, |buf| {
    let (key_index, plain) = decrypt(ring, payload, action_id, buf).map_err(|v| verdict_error(v, ring))?;
    let rows = strip_prefix(plain, action_id).ok_or_else(|| verdict_error(Verdict::WrongAction(key_index), ring))?;
    Ok(Opened { key_index, rows: String::from_utf8_lossy(rows).into_owned() })
  })
}

/// Seals Flight rows for an action with the current key and a random IV,
/// exactly as Next.js's `encryptActionBoundArgs` does.
pub fn seal(ring: &Keyring, action_id: &[u8], rows: &str) -> GuardResult<String> {
  let mut iv = [0u8; IV_LEN];
  fill_random(&mut iv)?;
  seal_with_iv(ring, action_id, rows, iv)
}

/// [`seal`] with a caller-chosen IV, for deterministic test vectors. Never
/// reuse an IV with the same key for real payloads.
pub fn seal_with_iv(ring: &Keyring, action_id: &[u8], rows: &str, iv: [u8; IV_LEN]) -> GuardResult<String> {
  let total = IV_LEN + action_id.len() + rows.len() + TAG_LEN;
  if total.div_ceil(3) * 4 > ring.max_payload() {
    let message = message!(sealTooLarge, bytes = rows.len(), limit = ring.max_payload());
    return Err(GuardError::new(Code::PayloadTooLarge, message));
  }
  let mut buf = Vec::with_capacity(total);
  buf.extend_from_slice(&iv);
  buf.extend_from_slice(action_id);
  buf.extend_from_slice(rows.as_bytes());
  let tag = ring
    .current()
    .seal(&iv, &mut buf[IV_LEN..])
    .ok_or_else(|| GuardError::new(Code::PayloadTooLarge, "The rows are too long for AES-GCM."))?;
  buf.extend_from_slice(&tag);
  Ok(CANONICAL.encode(&buf))
}

#[cfg(test)]
mod tests {
  use super::*;

  // Produced by Next.js 14.2.35, 15.5.29 and 16.4.6 alike: the vectors `spec-1.3-1-aes256-closure-secret`
  // and `spec-1.3-2-aes128-empty` of __test__/fixtures/next-vectors.json.
  const K1: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
  const ID1: &str = "60c6dd4c8b146d5c3453cdc7c1eb87f87a63a6a732";
  const P1: &str = "AAECAwQFBgcICQoLDA0OD5QgrZXDxYX7giXFoiLJTuypjyyDgeKxStw/jQ5zDyTbN/6QgsntvIgJyrCdf7+4wTYLabLIUU87h9RlFd0FF4aSS61k7+1NDMEv2AvNRh0=";
  const K2: &str = "AAECAwQFBgcICQoLDA0ODw==";
  const ID2: &str = "00aabbccddeeff00112233445566778899aabbccdd";
  const P2: &str =
    "AAECAwQFBgcICQoLDA0OD5qY8v/74KqgldxyC+IZmM910I6R+mr5VBIU5tPSotNId7jRoO+5wwMi2Hw06ufMXqgV21YMDqMtuxVcoT8RLA==";
  const IV: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

  fn ring(current: &str, previous: &[&str]) -> Keyring {
    Keyring::new(current, previous, None).unwrap()
  }

  #[test]
  fn reproduces_next_vectors() {
    let r1 = ring(K1, &[]);
    assert_eq!(seal_with_iv(&r1, ID1.as_bytes(), "0:[\"closure-secret\"]\n", IV).unwrap(), P1);
    assert_eq!(open(&r1, P1.as_bytes(), ID1.as_bytes()).unwrap().rows, "0:[\"closure-secret\"]\n");
    let r2 = ring(K2, &[]);
    assert_eq!(seal_with_iv(&r2, ID2.as_bytes(), "0:[]\n", IV).unwrap(), P2);
    assert_eq!(verify(&r2, P2.as_bytes(), ID2.as_bytes()), Verdict::Current);
  }

  #[test]
  fn classifies() {
    let rotated = ring(K2, &[K1]);
    assert_eq!(verify(&rotated, P1.as_bytes(), ID1.as_bytes()), Verdict::Previous(1));
    assert_eq!(verify(&rotated, P1.as_bytes(), ID2.as_bytes()), Verdict::WrongAction(1));
    assert_eq!(verify(&ring(K2, &[]), P1.as_bytes(), ID1.as_bytes()), Verdict::UnknownKey);
    let r1 = ring(K1, &[]);
    let mut flipped = atob::decode(P1.as_bytes()).unwrap();
    for i in [0, 20, flipped.len() - 1] {
      flipped[i] ^= 1;
      assert_eq!(verify(&r1, CANONICAL.encode(&flipped).as_bytes(), ID1.as_bytes()), Verdict::UnknownKey);
      flipped[i] ^= 1;
    }
    let spaced = format!(" {}\n{} ", &P1[..10], &P1[10..]);
    assert_eq!(verify(&r1, spaced.as_bytes(), ID1.as_bytes()), Verdict::Current);
    assert_eq!(verify(&r1, P1.trim_end_matches('=').as_bytes(), ID1.as_bytes()), Verdict::Current);
    assert_eq!(verify(&r1, b"AAAA-AAA", ID1.as_bytes()), Verdict::Malformed(Malformed::NotBase64));
    assert_eq!(verify(&r1, b"", ID1.as_bytes()), Verdict::Malformed(Malformed::TooShort));
    assert_eq!(verify(&r1, &P1.as_bytes()[..40], ID1.as_bytes()), Verdict::Malformed(Malformed::TooShort));
    let small = Keyring::new(K1, &[], Some(100)).unwrap();
    assert_eq!(verify(&small, P1.as_bytes(), ID1.as_bytes()), Verdict::Malformed(Malformed::TooLarge));
  }

  #[test]
  fn open_errors_carry_codes() {
    let r1 = ring(K1, &[]);
    assert_eq!(open(&r1, P1.as_bytes(), ID2.as_bytes()).unwrap_err().code, Code::PayloadWrongAction);
    assert_eq!(open(&ring(K2, &[]), P1.as_bytes(), ID1.as_bytes()).unwrap_err().code, Code::PayloadUnknownKey);
    assert_eq!(open(&r1, b"!!!!", ID1.as_bytes()).unwrap_err().code, Code::PayloadNotBase64);
    assert_eq!(open(&r1, b"AAAA", ID1.as_bytes()).unwrap_err().code, Code::PayloadTooShort);
  }

  #[test]
  fn bom_is_ignored_like_text_decoder() {
    let r1 = ring(K1, &[]);
    let sealed = seal_with_iv(&r1, b"", &format!("\u{feff}{ID1}0:[]\n"), IV).unwrap();
    let exact = seal_with_iv(&r1, ID1.as_bytes(), "", IV).unwrap();
    assert_eq!(verify(&r1, exact.as_bytes(), ID1.as_bytes()), Verdict::Current);
    let short = seal_with_iv(&r1, &ID1.as_bytes()[..41], "", IV).unwrap();
    assert_eq!(verify(&r1, short.as_bytes(), ID1.as_bytes()), Verdict::Malformed(Malformed::TooShort));
    assert_eq!(verify(&r1, sealed.as_bytes(), ID1.as_bytes()), Verdict::Current);
    assert_eq!(open(&r1, sealed.as_bytes(), ID1.as_bytes()).unwrap().rows, "0:[]\n");
  }

  #[test]
  fn seal_round_trips_with_random_ivs() {
    let r = ring(K1, &[K2]);
    let a = seal(&r, ID1.as_bytes(), "0:[\"é😀\"]\n").unwrap();
    assert_ne!(a, seal(&r, ID1.as_bytes(), "0:[\"é😀\"]\n").unwrap());
    assert_eq!(open(&r, a.as_bytes(), ID1.as_bytes()).unwrap(), Opened { key_index: 0, rows: "0:[\"é😀\"]\n".into() });
    let small = Keyring::new(K1, &[], Some(128)).unwrap();
    assert!(seal(&small, ID1.as_bytes(), "0:[\"closure-secret\"]\n").is_ok());
    assert_eq!(seal(&small, ID1.as_bytes(), "0:[\"closure-secret!!!\"]\n").unwrap_err().code, Code::PayloadTooLarge);
  }

  #[test]
  fn action_ids() {
    assert!(validate_action_id(ID1.as_bytes()).is_ok());
    assert!(validate_action_id(&ID1.as_bytes()[2..]).is_ok());
    for bad in ["", "abc", &ID1.to_uppercase(), &format!("{}g", &ID1[..41]), &format!("{ID1}00")] {
      assert_eq!(validate_action_id(bad.as_bytes()).unwrap_err().code, Code::ActionId, "{bad}");
    }
  }
}
