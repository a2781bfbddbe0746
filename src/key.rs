//! Server Actions encryption keys: strict parsing with the reasons users
//! actually hit, advisory checks, check values and generation.
//!
//! Next.js reads `NEXT_SERVER_ACTIONS_ENCRYPTION_KEY` with `atob` and imports
//! the bytes as an AES-GCM key, so a key is valid exactly when `atob` accepts it
//! and it decodes to 16, 24 or 32 bytes. [`parse_key`] accepts that set and
//! nothing else; [`check_key`] adds findings for keys Next.js accepts but that
//! are almost certainly mistakes.

use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use zeroize::{Zeroize, Zeroizing};

use crate::atob::{self, CANONICAL};
use crate::errors::{Code, GuardError, GuardResult};
use crate::random::fill_random;
use crate::rules::{self, message};
use base64::Engine;

/// Key lengths AES (and so Next.js) accepts, in bytes.
pub const VALID_KEY_LENGTHS: [usize; 3] = rules::KEY_LENGTHS;

/// Keys that are public: published in documentation, tutorials, vendor
/// images, bug reports or test vectors (this project's included). Anyone can
/// decrypt with them. One list serves both backends: `lib/core/public-keys.json`.
const PUBLIC_KEYS_JSON: &str = include_str!("../lib/core/public-keys.json");

/// A decoded key. The bytes are wiped when it is dropped (`Zeroizing`), and
/// its `Debug` output shows only the length and check value.
pub struct ParsedKey {
  bytes: Zeroizing<Vec<u8>>,
  /// The input equals the canonical (padded, whitespace-free) encoding.
  pub canonical: bool,
  /// The input contains ASCII whitespace, which `atob` ignores.
  pub has_whitespace: bool,
  /// The input has no `=` padding although its length needs it.
  pub missing_padding: bool,
  /// The input (without whitespace) is made of hex digits only.
  pub looks_hex: bool,
}

impl ParsedKey {
  /// The raw key bytes. Callers must not copy them anywhere that outlives use.
  pub fn bytes(&self) -> &[u8] {
    &self.bytes
  }

  /// Key length in bytes (16, 24 or 32).
  pub fn len(&self) -> usize {
    self.bytes.len()
  }

  /// Always false: a parsed key has 16, 24 or 32 bytes.
  pub fn is_empty(&self) -> bool {
    self.bytes.is_empty()
  }

  /// The short non-secret fingerprint of this key (see [`check_value`]).
  pub fn check_value(&self) -> String {
    check_value(&self.bytes)
  }
}

/// Shows the check value only, so a stray `{:?}` can never print a key.
impl std::fmt::Debug for ParsedKey {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    write!(f, "ParsedKey {{ bytes: {}, check_value: {} }}", self.len(), self.check_value())
  }
}

/// The key without ASCII whitespace. The copy is wiped when dropped and is
/// allocated once at its final capacity: a growing `String` would leave
/// partial copies of the key in freed memory.
fn without_whitespace(key: &str) -> Zeroizing<String> {
  let mut out = Zeroizing::new(String::with_capacity(key.len()));
  out.extend(key.chars().filter(|&c| !is_whitespace_char(c)));
  out
}

fn is_base64_char(c: char) -> bool {
  c.is_ascii_alphanumeric() || c == '+' || c == '/'
}

fn is_whitespace_char(c: char) -> bool {
  c.is_ascii() && atob::is_ascii_whitespace(c as u8)
}

/// Why `atob` rejects a key, in words. Positions count characters (Unicode
/// scalar values), as a person (and the JS backend) counts them.
fn not_base64_reason(key: &str) -> String {
  for (position, c) in key.chars().enumerate() {
    if !(is_base64_char(c) || c == '=' || is_whitespace_char(c)) {
      let shown =
        if c.is_ascii_graphic() { format!("'{c}' (U+{:04X})", c as u32) } else { format!("U+{:04X}", c as u32) };
      let name = rules::CHAR_NAMES.iter().find(|(named, _)| *named == c).map_or("", |(_, name)| name);
      return message!(notBase64Char, shown = shown, name = name, position = position);
    }
  }
  // Walks the key instead of collecting its characters, so no unwiped copy
  // of a (possibly almost valid) key is left behind in freed memory.
  let compact = || key.chars().enumerate().filter(|(_, c)| !is_whitespace_char(*c));
  let total = compact().count();
  let trailing_padding = compact().fold(0, |n, (_, c)| if c == '=' { n + 1 } else { 0 });
  let data_len = total - trailing_padding;
  if let Some((position, _)) = compact().take(data_len).find(|(_, c)| *c == '=') {
    return message!(notBase64InnerPadding, position = position);
  }
  if data_len % 4 == 1 {
    return message!(notBase64Length, length = data_len);
  }
  message!(notBase64Padding, length = total)
}

/// Words and marks that documentation placeholders are made of
/// (`your-generated-key`, `<base64-key>`, `kP...base64...`).
/// Compares in place rather than lowercasing a copy of the key.
fn looks_like_placeholder(compact: &str) -> bool {
  rules::PLACEHOLDER_WORDS
    .iter()
    .any(|w| compact.as_bytes().windows(w.len()).any(|part| part.eq_ignore_ascii_case(w.as_bytes())))
}

fn is_hex(s: &str) -> bool {
  !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Parses a key the way Next.js does, rejecting what Next.js would reject,
/// with a reason a person can act on. Never includes the key in the message.
pub fn parse_key(key: &str) -> GuardResult<ParsedKey> {
  let compact = without_whitespace(key);
  if compact.is_empty() {
    return Err(GuardError::new(Code::KeyEmpty, message!(keyEmpty)));
  }
  if compact.contains(['"', '\'', '`']) {
    return Err(GuardError::new(Code::KeyQuoted, message!(keyQuoted)));
  }
  let looks_hex = is_hex(&compact);
  // `atob` drops whitespace first, so decoding the whitespace-free copy gives
  // the same result, without `atob` making an unwiped copy of its own.
  let decoded = atob::decode(compact.as_bytes()).map(Zeroizing::new);
  if !decoded.as_ref().is_ok_and(|b| VALID_KEY_LENGTHS.contains(&b.len())) && looks_like_placeholder(&compact) {
    return Err(GuardError::new(Code::KeyPlaceholder, message!(keyPlaceholder)));
  }
  let bytes = match decoded {
    Ok(bytes) => bytes,
    Err(_) if compact.contains(['-', '_']) => return Err(GuardError::new(Code::KeyBase64Url, message!(keyBase64Url))),
    Err(_) => {
      return Err(GuardError::new(Code::KeyNotBase64, message!(keyNotBase64, reason = not_base64_reason(key))));
    }
  };
  let n = bytes.len();
  if !VALID_KEY_LENGTHS.contains(&n) {
    if looks_hex && compact.len().is_multiple_of(2) && VALID_KEY_LENGTHS.contains(&(compact.len() / 2)) {
      let (chars, bytes) = (compact.len(), compact.len() / 2);
      return Err(GuardError::new(Code::KeyHex, message!(keyHex, chars = chars, bytes = bytes, decoded = n)));
    }
    return Err(GuardError::new(Code::KeyLength, message!(keyLength, bytes = n)));
  }
  let canonical_form = Zeroizing::new(CANONICAL.encode(&*bytes));
  let has_whitespace = compact.len() != key.len();
  let missing_padding = canonical_form.ends_with('=') && !compact.ends_with('=');
  Ok(ParsedKey { canonical: key == canonical_form.as_str(), bytes, has_whitespace, missing_padding, looks_hex })
}

/// How serious a [`Finding`] is: errors make a key unusable, warnings are
/// accepted by Next.js but probably wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
  Error,
  Warning,
}

/// One result of [`check_key`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
  pub severity: Severity,
  pub code: &'static str,
  pub message: String,
}

/// The verdict of [`check_key`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyReport {
  /// True when the key has no error-level finding.
  pub ok: bool,
  /// Decoded length in bytes, when the key decodes.
  pub bytes: Option<usize>,
  /// Check value, when the key decodes to a valid length.
  pub check_value: Option<String>,
  pub findings: Vec<Finding>,
}

/// Checks a key: everything [`parse_key`] rejects, plus keys that are public
/// or degenerate (errors) and forms Next.js accepts that are likely mistakes
/// (warnings).
pub fn check_key(key: &str) -> KeyReport {
  let parsed = match parse_key(key) {
    Ok(parsed) => parsed,
    Err(e) => {
      let bytes = atob::decode(without_whitespace(key).as_bytes()).ok().map(|b| Zeroizing::new(b).len());
      return KeyReport {
        ok: false,
        bytes,
        check_value: None,
        findings: vec![Finding { severity: Severity::Error, code: e.code.as_str(), message: e.message }],
      };
    }
  };
  let mut findings = Vec::new();
  let mut error =
    |code: Code, message: String| findings.push(Finding { severity: Severity::Error, code: code.as_str(), message });
  if is_public(parsed.bytes()) {
    error(Code::KeyPublic, message!(keyPublic));
  } else if parsed.bytes().iter().all(|&b| b == parsed.bytes()[0]) {
    error(Code::KeyWeak, message!(keyWeakRepeated));
  } else if looks_like_text(parsed.bytes()) {
    error(Code::KeyWeak, message!(keyWeakText));
  }
  let mut warn =
    |code: &'static str, message: String| findings.push(Finding { severity: Severity::Warning, code, message });
  if parsed.has_whitespace {
    warn("WARN_KEY_WHITESPACE", message!(warnWhitespace));
  }
  if parsed.missing_padding {
    warn("WARN_KEY_UNPADDED", message!(warnUnpadded));
  }
  if !parsed.canonical && !parsed.has_whitespace && !parsed.missing_padding {
    warn("WARN_KEY_NONCANONICAL", message!(warnNoncanonical));
  }
  let (bytes, bits) = (parsed.len(), parsed.len() * 8);
  if parsed.looks_hex {
    warn("WARN_KEY_HEX", message!(warnHex, bytes = bytes, bits = bits));
  }
  if bytes < 32 {
    warn("WARN_KEY_SHORT", message!(warnShort, bytes = bytes, bits = bits));
  }
  KeyReport {
    ok: !findings.iter().any(|f| f.severity == Severity::Error),
    bytes: Some(parsed.len()),
    check_value: Some(parsed.check_value()),
    findings,
  }
}

/// Readable text encoded as base64 (a passphrase, not random bytes). Random
/// keys pass: all 24+ bytes printable has odds of (95/256)^24 ≈ 5e-11, and 16
/// bytes all letters or digits (62/256)^16 ≈ 7e-11.
fn looks_like_text(bytes: &[u8]) -> bool {
  if bytes.len() >= 24 {
    bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
  } else {
    bytes.iter().all(u8::is_ascii_alphanumeric)
  }
}

fn is_public(bytes: &[u8]) -> bool {
  // The file is a JSON array of base64 strings, none containing a quote.
  PUBLIC_KEYS_JSON
    .split('"')
    .skip(1)
    .step_by(2)
    .any(|k| atob::decode(k.as_bytes()).is_ok_and(|p| Zeroizing::new(p).as_slice() == bytes))
}

/// Length of a check value in bytes (shown as twice as many hex digits).
pub const CHECK_VALUE_BYTES: usize = 3;

/// The key check value (KCV): the first three bytes of AES-ECB(key, zero
/// block), in lowercase hex. The classic way to tell whether two machines hold
/// the same key without revealing it; safe to log. `bytes` must be 16, 24 or
/// 32 bytes long (the caller has parsed the key); any other length gives "".
pub fn check_value(bytes: &[u8]) -> String {
  let mut block = Array::default();
  let ok = match bytes.len() {
    16 => aes::Aes128::new_from_slice(bytes).map(|c| c.encrypt_block(&mut block)).is_ok(),
    24 => aes::Aes192::new_from_slice(bytes).map(|c| c.encrypt_block(&mut block)).is_ok(),
    32 => aes::Aes256::new_from_slice(bytes).map(|c| c.encrypt_block(&mut block)).is_ok(),
    _ => false,
  };
  // AES(key, zero block) is also GCM's hash subkey H: only its first three
  // bytes are shown, and the block is wiped.
  let kcv = if ok { block[..CHECK_VALUE_BYTES].iter().map(|b| format!("{b:02x}")).collect() } else { String::new() };
  block.as_mut_slice().zeroize();
  kcv
}

/// A new random key of `len` bytes (16, 24 or 32), as canonical base64.
pub fn generate_key(len: usize) -> GuardResult<String> {
  if !VALID_KEY_LENGTHS.contains(&len) {
    return Err(GuardError::new(Code::InvalidArgValue, message!(generateLength, bytes = len)));
  }
  let mut bytes = Zeroizing::new([0u8; 32]);
  fill_random(&mut bytes[..len])?;
  Ok(CANONICAL.encode(&bytes[..len]))
}

#[cfg(test)]
mod tests {
  use super::*;

  fn err(key: &str) -> Code {
    match parse_key(key) {
      Ok(_) => panic!("{key:?} accepted"),
      Err(e) => {
        assert!(!e.message.contains(key.trim()) || key.trim().len() < 4, "message echoes the key: {e}");
        e.code
      }
    }
  }

  const K32: &str = "7ZJGtsmJYQnc0T9Q4tVWQf2DnUOU9nYjwfxKDnm3rNk=";

  #[test]
  fn accepts_every_form_atob_accepts() {
    for key in [K32, "7ZJGtsmJYQnc0T9Q4tVWQf2DnUOU9nYjwfxKDnm3rNk", " 7ZJGtsmJYQnc0T9Q4tVWQf2DnUOU9nYjwfxKDnm3rNk=\n"] {
      let parsed = parse_key(key).unwrap();
      assert_eq!(parsed.len(), 32);
      assert_eq!(parsed.canonical, key == K32);
    }
    assert_eq!(parse_key("AAECAwQFBgcICQoLDA0ODw==").unwrap().len(), 16);
    assert_eq!(parse_key(&"A".repeat(32)).unwrap().len(), 24);
  }

  #[test]
  fn rejects_with_precise_codes() {
    assert_eq!(err(""), Code::KeyEmpty);
    for placeholder in ["your-generated-key", "<your-base64-key>", "kP...base64...", "change-me"] {
      assert_eq!(err(placeholder), Code::KeyPlaceholder, "{placeholder}");
    }
    assert_eq!(err(" \n\t"), Code::KeyEmpty);
    assert_eq!(err(&format!("\"{K32}\"")), Code::KeyQuoted);
    assert_eq!(err("7ZJGtsmJYQnc0T9Q4tVWQf2DnUOU9nYjwfxKDnm3rNk-"), Code::KeyBase64Url);
    assert_eq!(err("7ZJGtsmJYQnc0T9Q4tVWQf2DnUOU9nYjwfxKDnm3r!k="), Code::KeyNotBase64);
    assert_eq!(err("7ZJGtsmJYQnc0T9Q4tVWQf2DnUOU9nYjwfxKDnm3rNkAA"), Code::KeyNotBase64);
    assert_eq!(err(&"ab".repeat(32)), Code::KeyHex);
    assert_eq!(err(&"ab".repeat(24)), Code::KeyHex);
    assert_eq!(err("AAECAwQFBgcICQoLDA0O"), Code::KeyLength);
    // navikt/aksel#4583: base64 of iv‖tag‖ct, 60 bytes.
    assert_eq!(err(&CANONICAL.encode([1u8; 60])), Code::KeyLength);
  }

  #[test]
  fn hex_message_says_how_to_convert() {
    let e = parse_key(&"0f".repeat(32)).unwrap_err();
    assert!(e.message.contains("64 hex characters = 32 bytes"), "{}", e.message);
    assert!(e.message.contains("48 bytes"), "{}", e.message);
    assert!(e.message.contains("toString('base64')"), "{}", e.message);
  }

  #[test]
  fn check_key_findings() {
    let codes = |k: &str| check_key(k).findings.iter().map(|f| f.code).collect::<Vec<_>>();
    assert!(check_key(K32).ok);
    assert!(codes(K32).is_empty());
    assert_eq!(codes(&format!("{K32}\n")), ["WARN_KEY_WHITESPACE"]);
    assert_eq!(codes(K32.trim_end_matches('=')), ["WARN_KEY_UNPADDED"]);
    assert_eq!(codes(&"0f".repeat(16)), ["WARN_KEY_HEX", "WARN_KEY_SHORT"]);
    assert_eq!(codes("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="), ["ERR_KEY_PUBLIC"]);
    assert!(!check_key("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=").ok);
    assert_eq!(codes(&CANONICAL.encode([9u8; 32])), ["ERR_KEY_WEAK"]);
    assert_eq!(codes(&CANONICAL.encode(b"0123456789abcdef0123456789abcdef")), ["ERR_KEY_WEAK"]);
    assert_eq!(codes("C2EQHj06esR8k1JjOjQ/j4qfS3q9mRHukR+66RzDwq0="), ["ERR_KEY_PUBLIC"]);
    assert_eq!(codes("7ZJGtsmJYQnc0T9Q4tVWQf2DnUOU9nYjwfxKDnm3rNl="), ["WARN_KEY_NONCANONICAL"]);
    let bad = check_key(&"ab".repeat(32));
    assert!(!bad.ok);
    assert_eq!(bad.bytes, Some(48));
  }

  #[test]
  fn check_value_is_the_aes_kcv() {
    // OpenSSL (`aes-128-ecb`) encrypts the zero block under key 000102…0f to
    // c6a13b37878f5b826f4f8162a1c8d879.
    assert_eq!(check_value(&(0u8..16).collect::<Vec<_>>()), "c6a13b");
    assert_eq!(check_value(&[0u8; 5]), "");
  }

  #[test]
  fn generates_distinct_valid_keys() {
    for len in VALID_KEY_LENGTHS {
      let a = generate_key(len).unwrap();
      assert_eq!(parse_key(&a).unwrap().len(), len);
      assert!(parse_key(&a).unwrap().canonical);
      assert_ne!(a, generate_key(len).unwrap());
    }
    assert_eq!(generate_key(20).unwrap_err().code, Code::InvalidArgValue);
  }

  #[test]
  fn debug_shows_no_key_material() {
    let parsed = parse_key(K32).unwrap();
    let shown = format!("{parsed:?} {:?}", check_key(K32));
    let hex: String = parsed.bytes().iter().map(|b| format!("{b:02x}")).collect();
    for form in [K32.trim_end_matches('='), &hex, &K32[..16], &hex[..16]] {
      assert!(!shown.contains(form), "Debug output contains key material: {shown}");
    }
    assert!(shown.contains(&parsed.check_value()), "{shown}");
  }

  /// Fails to compile when the `zeroize` features of `aes`/`aes-gcm` in
  /// Cargo.toml are switched off: the expanded AES key schedules and GHASH
  /// keys a keyring holds are then no longer wiped on drop.
  #[test]
  fn key_holding_types_zeroize_on_drop() {
    fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    type Gcm<A> = aes_gcm::AesGcm<A, aes_gcm::aead::consts::U16>;
    wiped_on_drop::<Zeroizing<Vec<u8>>>();
    wiped_on_drop::<Zeroizing<String>>();
    wiped_on_drop::<aes::Aes128>();
    wiped_on_drop::<aes::Aes192>();
    wiped_on_drop::<aes::Aes256>();
    wiped_on_drop::<Gcm<aes::Aes128>>();
    wiped_on_drop::<Gcm<aes::Aes192>>();
    wiped_on_drop::<Gcm<aes::Aes256>>();
  }
}
