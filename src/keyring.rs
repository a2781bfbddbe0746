//! A keyring: the current key plus previous keys still accepted after a
//! rotation. AES key schedules and GHASH keys are expanded once, when the
//! keyring is built, never per payload. Key bytes never leave this module
//! after construction and are wiped on drop (`aes`/`aes-gcm` `zeroize`).

use aes::{Aes128, Aes192, Aes256};
use aes_gcm::aead::consts::U16;
use aes_gcm::{AeadInOut, AesGcm, KeyInit, Nonce, Tag};

use crate::errors::{Code, GuardError, GuardResult};
use crate::key::{parse_key, ParsedKey};
use crate::rules::{self, message};

/// Next.js uses a 16-byte IV (not the usual 12), so GCM derives its counter
/// block with GHASH; the cipher type must say so.
type Gcm<A> = AesGcm<A, U16>;

/// IV length of Next.js bound-args payloads.
pub const IV_LEN: usize = rules::IV_BYTES;
/// GCM tag length (WebCrypto's default, 128 bits).
pub const TAG_LEN: usize = rules::TAG_BYTES;

/// Most keys one keyring holds (current + previous).
pub const MAX_KEYS: usize = rules::MAX_KEYS;
/// Default cap on a payload's length in characters (bytes of base64 text):
/// 1 MiB.
pub const DEFAULT_MAX_PAYLOAD: usize = rules::DEFAULT_MAX_PAYLOAD_BYTES;
/// Largest cap a keyring may be configured with, 256 MiB: below V8's longest
/// string (~512 MiB), so the JS backends can always hold a payload under the cap.
pub const MAX_PAYLOAD_LIMIT: usize = rules::MAX_PAYLOAD_BYTES_LIMIT;

enum Cipher {
  Aes128(Box<Gcm<Aes128>>),
  Aes192(Box<Gcm<Aes192>>),
  Aes256(Box<Gcm<Aes256>>),
}

impl Cipher {
  fn new(key: &ParsedKey) -> Option<Cipher> {
    let b = key.bytes();
    Some(match b.len() {
      16 => Cipher::Aes128(Box::new(Gcm::<Aes128>::new_from_slice(b).ok()?)),
      24 => Cipher::Aes192(Box::new(Gcm::<Aes192>::new_from_slice(b).ok()?)),
      32 => Cipher::Aes256(Box::new(Gcm::<Aes256>::new_from_slice(b).ok()?)),
      _ => return None,
    })
  }

  /// Authenticates and, only on success, decrypts `buf` in place.
  fn open(&self, iv: &[u8; IV_LEN], buf: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
    let nonce = Nonce::<U16>::from(*iv);
    let tag = Tag::from(*tag);
    match self {
      Cipher::Aes128(c) => c.decrypt_inout_detached(&nonce, &[], buf.into(), &tag).is_ok(),
      Cipher::Aes192(c) => c.decrypt_inout_detached(&nonce, &[], buf.into(), &tag).is_ok(),
      Cipher::Aes256(c) => c.decrypt_inout_detached(&nonce, &[], buf.into(), &tag).is_ok(),
    }
  }

  /// Encrypts `buf` in place and returns the tag.
  fn seal(&self, iv: &[u8; IV_LEN], buf: &mut [u8]) -> Option<[u8; TAG_LEN]> {
    let nonce = Nonce::<U16>::from(*iv);
    let tag = match self {
      Cipher::Aes128(c) => c.encrypt_inout_detached(&nonce, &[], buf.into()),
      Cipher::Aes192(c) => c.encrypt_inout_detached(&nonce, &[], buf.into()),
      Cipher::Aes256(c) => c.encrypt_inout_detached(&nonce, &[], buf.into()),
    };
    tag.ok().map(Into::into)
  }
}

/// One key of a keyring, ready to use.
pub struct KeyEntry {
  cipher: Cipher,
  check_value: String,
  len: usize,
}

impl KeyEntry {
  /// The key's check value (safe to show and log).
  pub fn check_value(&self) -> &str {
    &self.check_value
  }

  /// The key's length in bytes.
  pub fn len(&self) -> usize {
    self.len
  }

  /// Always false: entries hold 16, 24 or 32-byte keys.
  pub fn is_empty(&self) -> bool {
    self.len == 0
  }

  /// See [`Cipher::open`].
  pub fn open(&self, iv: &[u8; IV_LEN], buf: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
    self.cipher.open(iv, buf, tag)
  }

  /// See [`Cipher::seal`].
  pub fn seal(&self, iv: &[u8; IV_LEN], buf: &mut [u8]) -> Option<[u8; TAG_LEN]> {
    self.cipher.seal(iv, buf)
  }
}

/// Current key first, then previous keys in the order given.
pub struct Keyring {
  entries: Vec<KeyEntry>,
  max_payload: usize,
}

fn describe(index: usize) -> String {
  if index == 0 {
    message!(keyringCurrentKey)
  } else {
    message!(keyringPreviousKey, index = index)
  }
}

impl Keyring {
  /// Builds a keyring from base64 key strings (as Next.js reads them).
  ///
  /// `max_payload` caps the length of a payload in characters; `None` means
  /// [`DEFAULT_MAX_PAYLOAD`].
  pub fn new(current: &str, previous: &[&str], max_payload: Option<usize>) -> GuardResult<Keyring> {
    let max_payload = max_payload.unwrap_or(DEFAULT_MAX_PAYLOAD);
    if max_payload == 0 || max_payload > MAX_PAYLOAD_LIMIT {
      return Err(GuardError::new(
        Code::InvalidArgValue,
        format!("maxPayloadBytes must be between 1 and {MAX_PAYLOAD_LIMIT}; got {max_payload}."),
      ));
    }
    if 1 + previous.len() > MAX_KEYS {
      let message =
        message!(keyringTooLarge, maxKeys = MAX_KEYS, maxPrevious = MAX_KEYS - 1, previous = previous.len());
      return Err(GuardError::new(Code::KeyringTooLarge, message));
    }
    if current.bytes().all(crate::atob::is_ascii_whitespace) {
      return Err(GuardError::new(Code::KeyringEmpty, message!(keyringEmpty)));
    }
    let mut parsed: Vec<ParsedKey> = Vec::with_capacity(1 + previous.len());
    for (index, key) in std::iter::once(&current).chain(previous.iter()).enumerate() {
      let key = parse_key(key).map_err(|e| {
        GuardError::new(e.code, message!(keyringInvalidKey, key = describe(index), message = e.message))
      })?;
      if let Some(first) = parsed.iter().position(|p| p.bytes() == key.bytes()) {
        let (key, first, check_value) = (describe(index), describe(first), key.check_value());
        let message = message!(keyringDuplicate, key = key, first = first, checkValue = check_value);
        return Err(GuardError::new(Code::KeyringDuplicate, message));
      }
      parsed.push(key);
    }
    let mut entries = Vec::with_capacity(parsed.len());
    for key in &parsed {
      let cipher =
        Cipher::new(key).ok_or_else(|| GuardError::new(Code::KeyLength, "A parsed key had an unusable length."))?;
      entries.push(KeyEntry { cipher, check_value: key.check_value(), len: key.len() });
    }
    Ok(Keyring { entries, max_payload })
  }

  /// The keys, current first.
  pub fn entries(&self) -> &[KeyEntry] {
    &self.entries
  }

  /// The current key (the one new payloads are sealed with).
  pub fn current(&self) -> &KeyEntry {
    // `new` refuses to build a keyring without a current key.
    &self.entries[0]
  }

  /// The payload length cap in characters.
  pub fn max_payload(&self) -> usize {
    self.max_payload
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  const A: &str = "7ZJGtsmJYQnc0T9Q4tVWQf2DnUOU9nYjwfxKDnm3rNk=";
  const B: &str = "AAECAwQFBgcICQoLDA0ODw==";

  fn code(r: GuardResult<Keyring>) -> Code {
    r.err().expect("keyring accepted").code
  }

  #[test]
  fn builds_with_previous_keys() {
    let ring = Keyring::new(A, &[B], None).unwrap();
    assert_eq!(ring.entries().len(), 2);
    assert_eq!(ring.current().len(), 32);
    assert_eq!(ring.entries()[1].check_value(), "c6a13b");
    assert_eq!(ring.max_payload(), DEFAULT_MAX_PAYLOAD);
  }

  #[test]
  fn refuses_bad_keyrings() {
    assert_eq!(code(Keyring::new("", &[], None)), Code::KeyringEmpty);
    assert_eq!(code(Keyring::new(A, &[B, "AAECAwQFBgcICQoLDA0ODw"], None)), Code::KeyringDuplicate);
    assert_eq!(code(Keyring::new(A, &[A], None)), Code::KeyringDuplicate);
    assert_eq!(code(Keyring::new(A, &["zz"], None)), Code::KeyLength);
    assert_eq!(code(Keyring::new(A, &[B; 16], None)), Code::KeyringTooLarge);
    assert_eq!(code(Keyring::new(A, &[], Some(0))), Code::InvalidArgValue);
    let e = Keyring::new(A, &[B, "not base64!"], None).err().unwrap();
    assert!(e.message.starts_with("Keyring previous key #2: "), "{}", e.message);
  }
}
