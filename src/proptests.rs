//! Property tests: every parser and verifier meets random byte strings,
//! random strings and mutated valid keys and payloads (bit flips,
//! truncations, extensions, base64url swaps, whitespace and padding games)
//! without panicking, and answers what a model of Next.js says it must:
//! about 280,000 cases per `cargo test --profile test-opt` (what `npm test` runs).

use crate::atob::{self, CANONICAL};
use crate::build_id;
use crate::key::{check_key, parse_key};
use crate::keyring::Keyring;
use crate::payload::{self, Verdict};
use base64::Engine;
use proptest::prelude::*;

const KEY: &str = "7ZJGtsmJYQnc0T9Q4tVWQf2DnUOU9nYjwfxKDnm3rNk=";
const OLD: &str = "AAECAwQFBgcICQoLDA0ODw==";
const ID: &str = "60c6dd4c8b146d5c3453cdc7c1eb87f87a63a6a732";

fn ring() -> Keyring {
  Keyring::new(KEY, &[OLD], Some(4096)).unwrap()
}

/// Strings biased towards the base64 alphabet, whitespace and padding, where
/// the interesting edge cases live.
fn base64ish() -> impl Strategy<Value = String> {
  proptest::string::string_regex("[A-Za-z0-9+/= \t\n\r_\\-\"'!é]{0,80}").unwrap()
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(10_000))]

  #[test]
  fn atob_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
    let _ = atob::decode(&bytes);
  }

  #[test]
  fn atob_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
    let encoded = CANONICAL.encode(&bytes);
    prop_assert_eq!(atob::decode(encoded.as_bytes()).unwrap(), bytes.clone());
    prop_assert_eq!(atob::decode(encoded.trim_end_matches('=').as_bytes()).unwrap(), bytes);
  }

  #[test]
  fn key_parsers_never_panic(s in any::<String>()) {
    let parsed = parse_key(&s);
    let report = check_key(&s);
    prop_assert_eq!(parsed.is_ok(), report.bytes.is_some() && report.check_value.is_some());
  }

  #[test]
  fn key_parsers_agree_on_base64ish(s in base64ish()) {
    let parsed = parse_key(&s);
    if let Ok(k) = &parsed {
      prop_assert!([16, 24, 32].contains(&k.len()));
      prop_assert_eq!(atob::decode(s.as_bytes()).unwrap().len(), k.len());
    }
    prop_assert_eq!(parsed.is_ok(), check_key(&s).check_value.is_some());
  }

  #[test]
  fn verify_and_open_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
    let ring = ring();
    let verdict = payload::verify(&ring, &bytes, ID.as_bytes());
    prop_assert!(matches!(verdict, Verdict::UnknownKey | Verdict::Malformed(_)));
    prop_assert!(payload::open(&ring, &bytes, ID.as_bytes()).is_err());
  }

  #[test]
  fn verify_never_accepts_random_base64(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
    let text = CANONICAL.encode(&bytes);
    let verdict = payload::verify(&ring(), text.as_bytes(), ID.as_bytes());
    prop_assert!(matches!(verdict, Verdict::UnknownKey | Verdict::Malformed(_)));
  }

  #[test]
  fn verify_strings_never_panic(s in any::<String>()) {
    let _ = payload::verify(&ring(), s.as_bytes(), ID.as_bytes());
    let _ = payload::validate_action_id(s.as_bytes());
  }

  #[test]
  fn seal_open_round_trips(rows in any::<String>()) {
    let ring = ring();
    let sealed = payload::seal(&ring, ID.as_bytes(), &rows).unwrap();
    prop_assert_eq!(payload::verify(&ring, sealed.as_bytes(), ID.as_bytes()), Verdict::Current);
    prop_assert_eq!(payload::open(&ring, sealed.as_bytes(), ID.as_bytes()).unwrap().rows, rows);
  }

  #[test]
  fn build_ids_never_panic(a in any::<Vec<u8>>(), b in any::<Vec<u8>>()) {
    let result = build_id::compare(Some(&a), Some(&b)).unwrap();
    prop_assert_eq!(result == build_id::BuildIdMatch::Same, !a.is_empty() && a == b);
  }

  #[test]
  fn refresh_never_panics(a in any::<f64>(), b in any::<f64>(), c in any::<f64>(), d in any::<f64>()) {
    let _ = build_id::should_force_refresh(a, b, c, d);
  }
}

// ---------------------------------------------------------------------------
// Verdict properties: every parser and verifier against a model of what it
// must answer, on random input and on valid payloads and keys mutated the way
// proxies, copy-paste and attackers mutate them (bit flips, truncations,
// extensions, base64url swaps, whitespace and padding games).
// ---------------------------------------------------------------------------

use crate::errors::Code;
use crate::key::{self, Severity, VALID_KEY_LENGTHS};
use crate::keyring::{IV_LEN, MAX_KEYS, MAX_PAYLOAD_LIMIT, TAG_LEN};
use crate::payload::Malformed;

/// WHATWG "forgiving-base64 decode", written out step by step from the
/// specification: the oracle `atob::decode` is held to.
fn atob_model(input: &[u8]) -> Option<Vec<u8>> {
  let mut data: Vec<u8> = input.iter().copied().filter(|b| !atob::is_ascii_whitespace(*b)).collect();
  if data.len().is_multiple_of(4) {
    if data.ends_with(b"==") {
      data.truncate(data.len() - 2);
    } else if data.ends_with(b"=") {
      data.truncate(data.len() - 1);
    }
  }
  if data.len() % 4 == 1 {
    return None;
  }
  let mut out = Vec::new();
  let (mut buffer, mut bits) = (0u32, 0u32);
  for b in data {
    let v = match b {
      b'A'..=b'Z' => b - b'A',
      b'a'..=b'z' => b - b'a' + 26,
      b'0'..=b'9' => b - b'0' + 52,
      b'+' => 62,
      b'/' => 63,
      _ => return None,
    };
    buffer = (buffer << 6) | u32::from(v);
    bits += 6;
    if bits >= 8 {
      bits -= 8;
      out.push((buffer >> bits) as u8);
      buffer &= (1 << bits) - 1;
    }
  }
  Some(out)
}

/// A key of a length AES accepts.
fn key_bytes() -> impl Strategy<Value = Vec<u8>> {
  prop_oneof![Just(16usize), Just(24), Just(32)].prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n))
}

/// A Server Action ID: 40 (Next.js 14) or 42 (15, 16) lowercase hex characters.
fn action_id() -> impl Strategy<Value = String> {
  proptest::string::string_regex("[0-9a-f]{40}([0-9a-f]{2})?").unwrap()
}

/// Flight rows: mostly short, any Unicode.
fn rows() -> impl Strategy<Value = String> {
  proptest::string::string_regex("(?s).{0,48}").unwrap()
}

/// A valid payload and everything needed to judge it: the keyring's keys
/// (current first), which of them sealed it, the action and the rows.
#[derive(Clone, Debug)]
struct Sealed {
  keys: Vec<String>,
  index: usize,
  id: String,
  rows: String,
  text: String,
  raw: Vec<u8>,
}

impl Sealed {
  fn ring(&self) -> Keyring {
    let previous: Vec<&str> = self.keys[1..].iter().map(String::as_str).collect();
    Keyring::new(&self.keys[0], &previous, None).unwrap()
  }

  fn expected(&self) -> Verdict {
    if self.index == 0 {
      Verdict::Current
    } else {
      Verdict::Previous(self.index)
    }
  }
}

/// 1 to 3 keys of mixed lengths (distinct by construction), a random IV, so
/// a failing case reproduces from its seed.
fn sealed() -> impl Strategy<Value = Sealed> {
  (proptest::collection::vec(key_bytes(), 1..4), any::<prop::sample::Index>(), action_id(), rows(), any::<[u8; 16]>())
    .prop_map(|(mut keys, which, id, rows, iv)| {
      for (i, k) in keys.iter_mut().enumerate() {
        k[0] = i as u8;
      }
      let keys: Vec<String> = keys.iter().map(|k| CANONICAL.encode(k)).collect();
      let index = which.index(keys.len());
      let sealer = Keyring::new(&keys[index], &[], None).unwrap();
      let text = payload::seal_with_iv(&sealer, id.as_bytes(), &rows, iv).unwrap();
      let raw = CANONICAL.decode(&text).unwrap();
      Sealed { keys, index, id, rows, text, raw }
    })
}

fn is_ok(v: Verdict) -> bool {
  matches!(v, Verdict::Current | Verdict::Previous(_))
}

/// `open` must reach the same conclusion as `verify`, as a result or as the
/// matching error code.
fn open_agrees(ring: &Keyring, input: &[u8], id: &str, verdict: Verdict) -> Result<(), TestCaseError> {
  let opened = payload::open(ring, input, id.as_bytes());
  match (verdict, opened) {
    (Verdict::Current, Ok(o)) => prop_assert_eq!(o.key_index, 0),
    (Verdict::Previous(n), Ok(o)) => prop_assert_eq!(o.key_index, n),
    (Verdict::WrongAction(_), Err(e)) => prop_assert_eq!(e.code, Code::PayloadWrongAction),
    (Verdict::UnknownKey, Err(e)) => prop_assert_eq!(e.code, Code::PayloadUnknownKey),
    (Verdict::Malformed(Malformed::TooLarge), Err(e)) => prop_assert_eq!(e.code, Code::PayloadTooLarge),
    (Verdict::Malformed(Malformed::NotBase64), Err(e)) => prop_assert_eq!(e.code, Code::PayloadNotBase64),
    (Verdict::Malformed(Malformed::TooShort), Err(e)) => prop_assert_eq!(e.code, Code::PayloadTooShort),
    (v, o) => prop_assert!(false, "verify said {:?}, open said {:?}", v, o.map(|o| o.key_index)),
  }
  Ok(())
}

/// `parse_key` names a key that does not decode a placeholder before looking
/// for a finer reason, so a random key whose text happens to contain one of
/// the placeholder words (`Xxxx`, `YoUr`, …; about 1 in 20,000 keys) gets
/// that code instead.
fn unless_placeholder(key: &str, code: Code) -> Code {
  let lower = key.to_ascii_lowercase();
  let words =
    ["your", "<", ">", "...", "change", "replace", "generate", "example", "placeholder", "secret", "base64", "xxxx"];
  if words.iter().any(|w| lower.contains(w)) {
    Code::KeyPlaceholder
  } else {
    code
  }
}

/// Characters `atob` never accepts, including look-alikes of the alphabet.
const NOT_BASE64: &[char] = &['-', '_', '!', '"', '\'', '.', ':', '\0', '\u{b}', '\u{a0}', 'é', '\u{feff}', '％'];

proptest! {
  #![proptest_config(ProptestConfig::with_cases(10_000))]

  #[test]
  fn atob_matches_the_whatwg_algorithm(s in base64ish()) {
    prop_assert_eq!(atob::decode(s.as_bytes()).ok(), atob_model(s.as_bytes()));
  }

  #[test]
  fn atob_matches_the_whatwg_algorithm_on_bytes(bytes in proptest::collection::vec(
    prop_oneof![4 => proptest::sample::select(b"AZaz09+/=".to_vec()), 1 => any::<u8>(), 1 => Just(b' ')], 0..64)) {
    let got = atob::decode(&bytes);
    prop_assert_eq!(got.clone().ok(), atob_model(&bytes));
    if let Err(atob::AtobError::InvalidByte(i)) = got {
      // The reported position holds a byte outside the alphabet.
      prop_assert!(i < bytes.len() && !(bytes[i].is_ascii_alphanumeric() || bytes[i] == b'+' || bytes[i] == b'/'));
    }
  }

  #[test]
  fn atob_ignores_inserted_whitespace(bytes in proptest::collection::vec(any::<u8>(), 0..64),
                                      spots in proptest::collection::vec((any::<prop::sample::Index>(), proptest::sample::select(b"\t\n\x0c\r ".to_vec())), 1..6)) {
    let mut text = CANONICAL.encode(&bytes).into_bytes();
    for (at, ws) in spots {
      let i = at.index(text.len() + 1);
      text.insert(i, ws);
    }
    prop_assert_eq!(atob::decode(&text).unwrap(), bytes);
  }

  #[test]
  fn parse_key_accepts_exactly_what_next_accepts(s in prop_oneof![base64ish(), any::<String>(),
      key_bytes().prop_map(|k| CANONICAL.encode(k))]) {
    let decoded = atob::decode(s.as_bytes()).ok().filter(|b| VALID_KEY_LENGTHS.contains(&b.len()));
    match (parse_key(&s), decoded) {
      (Ok(k), Some(bytes)) => {
        prop_assert_eq!(k.bytes(), &bytes[..]);
        prop_assert_eq!(k.canonical, s == CANONICAL.encode(&bytes));
        prop_assert_eq!(k.check_value(), key::check_value(&bytes));
      }
      (Err(e), None) => prop_assert!(matches!(e.code, Code::KeyEmpty | Code::KeyQuoted | Code::KeyPlaceholder
        | Code::KeyBase64Url | Code::KeyNotBase64 | Code::KeyHex | Code::KeyLength), "{:?}", e.code),
      (parsed, decoded) => prop_assert!(false, "parse_key {:?} but atob gives {:?}", parsed.map(|k| k.len()), decoded.map(|b| b.len())),
    }
  }

  #[test]
  fn mutated_keys_get_the_right_code_and_are_never_echoed(key in key_bytes(), op in 0u8..7, at in any::<prop::sample::Index>()) {
    let text = CANONICAL.encode(&key);
    let data_len = text.trim_end_matches('=').len();
    let mutated = match op {
      0 => format!("\"{text}\""),
      1 => text.replace('+', "-").replace('/', "_"),
      2 => { let mut t = text.clone(); t.insert(at.index(data_len), '!'); t }
      3 => text[..data_len - 1 - at.index(data_len / 2)].to_string(),
      4 => format!("{text}{}", &text[..1 + at.index(8)]),
      5 => key.iter().map(|b| format!("{b:02x}")).collect(),
      _ => format!(" {}\n", text.trim_end_matches('=')),
    };
    let result = parse_key(&mutated);
    match op {
      0 => prop_assert_eq!(result.as_ref().unwrap_err().code, Code::KeyQuoted),
      1 if mutated != text => prop_assert_eq!(result.as_ref().unwrap_err().code, unless_placeholder(&mutated, Code::KeyBase64Url)),
      2 => prop_assert_eq!(result.as_ref().unwrap_err().code, unless_placeholder(&mutated, Code::KeyNotBase64)),
      3 | 4 => if let Ok(k) = &result { prop_assert_ne!(k.bytes(), &key[..]) },
      // Hex of 16 bytes is 32 characters, which base64 reads as a valid 24-byte key (a warning only).
      5 if key.len() == 16 => prop_assert_eq!(result.as_ref().unwrap().len(), 24),
      5 => prop_assert_eq!(result.as_ref().unwrap_err().code, Code::KeyHex),
      6 => {
        let k = result.as_ref().unwrap();
        prop_assert_eq!(k.bytes(), &key[..]);
        prop_assert!(k.has_whitespace && !k.canonical);
      }
      _ => prop_assert_eq!(result.as_ref().unwrap().bytes(), &key[..]),
    }
    // No error or finding repeats the key, whichever form it was given in.
    let secret = text.trim_end_matches('=');
    let report = key::check_key(&mutated);
    let messages = result.err().map(|e| e.message).into_iter().chain(report.findings.into_iter().map(|f| f.message));
    for m in messages {
      prop_assert!(!m.contains(&secret[..16]) && !m.contains(&mutated), "message echoes the key: {}", m);
    }
  }

  #[test]
  fn check_key_is_consistent_with_parse_key(s in prop_oneof![base64ish(), key_bytes().prop_map(|k| CANONICAL.encode(k)),
      proptest::collection::vec(any::<u8>(), 16..=32).prop_map(|k| CANONICAL.encode(k))]) {
    let report = key::check_key(&s);
    let parsed = parse_key(&s);
    prop_assert_eq!(report.bytes, atob::decode(s.as_bytes()).ok().map(|b| b.len()));
    prop_assert_eq!(report.check_value.clone(), parsed.as_ref().ok().map(|k| k.check_value()));
    prop_assert_eq!(report.ok, !report.findings.iter().any(|f| f.severity == Severity::Error));
    if report.ok {
      prop_assert!(parsed.is_ok());
    }
    if let Err(e) = &parsed {
      prop_assert_eq!(report.findings.len(), 1);
      prop_assert_eq!(report.findings[0].code, e.code.as_str());
    }
    for f in &report.findings {
      let known = match f.severity {
        Severity::Error => ["ERR_KEY_EMPTY", "ERR_KEY_QUOTED", "ERR_KEY_PLACEHOLDER", "ERR_KEY_BASE64URL", "ERR_KEY_NOT_BASE64",
          "ERR_KEY_HEX", "ERR_KEY_LENGTH", "ERR_KEY_PUBLIC", "ERR_KEY_WEAK"].contains(&f.code),
        Severity::Warning => ["WARN_KEY_WHITESPACE", "WARN_KEY_UNPADDED", "WARN_KEY_NONCANONICAL", "WARN_KEY_HEX",
          "WARN_KEY_SHORT"].contains(&f.code),
      };
      prop_assert!(known, "unexpected finding {}", f.code);
    }
  }

  #[test]
  fn check_values_are_six_hex_digits_for_aes_lengths_only(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
    let cv = key::check_value(&bytes);
    if VALID_KEY_LENGTHS.contains(&bytes.len()) {
      prop_assert_eq!(cv.len(), 6);
      prop_assert!(cv.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    } else {
      prop_assert_eq!(cv, "");
    }
  }

  #[test]
  fn action_ids_are_40_or_42_lowercase_hex(id in prop_oneof![
      proptest::string::string_regex("[0-9a-fA-Fg]{38,44}").unwrap(), action_id(), any::<String>()]) {
    let model = (id.len() == 40 || id.len() == 42) && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let result = payload::validate_action_id(id.as_bytes());
    prop_assert_eq!(result.is_ok(), model);
    if let Err(e) = result {
      prop_assert_eq!(e.code, Code::ActionId);
    }
  }

  #[test]
  fn build_id_comparison_follows_its_contract(a in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..1100)),
                                              b in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..1100)),
                                              same in any::<bool>()) {
    let b = if same { a.clone() } else { b };
    let result = build_id::compare(a.as_deref(), b.as_deref());
    let too_long = [&a, &b].iter().any(|x| x.as_ref().is_some_and(|x| x.len() > build_id::MAX_BUILD_ID_LEN));
    prop_assert_eq!(result.clone().err().map(|e| e.code), too_long.then_some(Code::BuildIdTooLong));
    prop_assert_eq!(result.clone().ok(), build_id::compare(b.as_deref(), a.as_deref()).ok());
    if let Ok(m) = result {
      let expected = match (&a, &b) {
        (Some(x), Some(y)) if !x.is_empty() && !y.is_empty() =>
          if x == y { build_id::BuildIdMatch::Same } else { build_id::BuildIdMatch::Different },
        _ => build_id::BuildIdMatch::Unknown,
      };
      prop_assert_eq!(m, expected);
    }
  }

  #[test]
  fn refresh_window_follows_its_contract(v in proptest::array::uniform4(prop_oneof![
      3 => 0.0..1e13f64, 1 => Just(0.0), 1 => Just(-0.0), 1 => Just(-1.0), 1 => Just(f64::NAN),
      1 => Just(f64::INFINITY), 1 => Just(f64::MAX), 1 => any::<f64>()])) {
    let [loaded, rotated, notice, now] = v;
    let valid = v.iter().all(|x| x.is_finite() && *x >= 0.0);
    match build_id::should_force_refresh(loaded, rotated, notice, now) {
      Ok(r) => {
        prop_assert!(valid);
        prop_assert_eq!(r, loaded < rotated && now >= rotated + notice);
      }
      Err(e) => {
        prop_assert!(!valid);
        prop_assert_eq!(e.code, Code::InvalidArgValue);
      }
    }
  }

  #[test]
  fn generate_key_accepts_aes_lengths_only(len in 0usize..80) {
    match key::generate_key(len) {
      Ok(k) => {
        prop_assert!(VALID_KEY_LENGTHS.contains(&len));
        let parsed = parse_key(&k).unwrap();
        prop_assert!(parsed.canonical && parsed.len() == len);
      }
      Err(e) => {
        prop_assert!(!VALID_KEY_LENGTHS.contains(&len));
        prop_assert_eq!(e.code, Code::InvalidArgValue);
      }
    }
  }
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(5_000))]

  #[test]
  fn keyring_construction_follows_its_contract(
      current in prop_oneof![3 => key_bytes().prop_map(|k| CANONICAL.encode(k)), 1 => base64ish(), 1 => Just(" \n".to_string())],
      previous in proptest::collection::vec(prop_oneof![
        4 => key_bytes().prop_map(|k| CANONICAL.encode(k)), 1 => base64ish(), 1 => Just(KEY.to_string()),
        1 => Just(format!(" {}\n", KEY.trim_end_matches('=')))], 0..18),
      cap in prop_oneof![Just(None), (0usize..=MAX_PAYLOAD_LIMIT + 1).prop_map(Some), Just(Some(usize::MAX))]) {
    let prev: Vec<&str> = previous.iter().map(String::as_str).collect();
    let all: Vec<&str> = std::iter::once(current.as_str()).chain(prev.iter().copied()).collect();
    let parsed: Vec<_> = all.iter().map(|k| parse_key(k)).collect();
    let cap_ok = cap.is_none_or(|c| (1..=MAX_PAYLOAD_LIMIT).contains(&c));
    let distinct = parsed.iter().enumerate().all(|(i, p)| match p {
      Ok(p) => parsed[..i].iter().all(|q| q.as_ref().map_or(true, |q| q.bytes() != p.bytes())),
      Err(_) => true,
    });
    match Keyring::new(&current, &prev, cap) {
      Ok(ring) => {
        prop_assert!(cap_ok && all.len() <= MAX_KEYS && distinct && parsed.iter().all(Result::is_ok));
        prop_assert_eq!(ring.entries().len(), all.len());
        for (entry, p) in ring.entries().iter().zip(&parsed) {
          prop_assert_eq!(entry.check_value(), p.as_ref().unwrap().check_value());
        }
      }
      Err(e) => {
        let expected_first = if !cap_ok {
          Code::InvalidArgValue
        } else if all.len() > MAX_KEYS {
          Code::KeyringTooLarge
        } else if current.bytes().all(atob::is_ascii_whitespace) {
          Code::KeyringEmpty
        } else {
          // The first key that fails, in order: a parse error or a duplicate.
          let bad = parsed.iter().enumerate().find(|(i, p)| match p {
            Err(_) => true,
            Ok(p) => parsed[..*i].iter().any(|q| q.as_ref().is_ok_and(|q| q.bytes() == p.bytes())),
          });
          match bad {
            Some((_, Err(pe))) => pe.code,
            Some((_, Ok(_))) => Code::KeyringDuplicate,
            None => { prop_assert!(false, "keyring refused a valid key list: {}", e); unreachable!() }
          }
        };
        prop_assert_eq!(e.code, expected_first, "{}", e.message);
        for k in &all {
          let k = k.trim();
          prop_assert!(k.len() < 16 || !e.message.contains(k), "message echoes a key: {}", e.message);
        }
      }
    }
  }

  #[test]
  fn sealed_payloads_verify_under_their_key(s in sealed()) {
    let ring = s.ring();
    prop_assert_eq!(payload::verify(&ring, s.text.as_bytes(), s.id.as_bytes()), s.expected());
    let opened = payload::open(&ring, s.text.as_bytes(), s.id.as_bytes()).unwrap();
    prop_assert_eq!(opened.key_index, s.index);
    prop_assert_eq!(opened.rows, s.rows.clone());
    // The same text given as bytes with whitespace, and unpadded, is the same payload to atob.
    let unpadded = s.text.trim_end_matches('=');
    prop_assert_eq!(payload::verify(&ring, unpadded.as_bytes(), s.id.as_bytes()), s.expected());
    // A keyring without the sealing key knows nothing about it.
    let others: Vec<&str> = s.keys.iter().enumerate().filter(|(i, _)| *i != s.index).map(|(_, k)| k.as_str()).collect();
    if let Some((first, rest)) = others.split_first() {
      let foreign = Keyring::new(first, rest, None).unwrap();
      prop_assert_eq!(payload::verify(&foreign, s.text.as_bytes(), s.id.as_bytes()), Verdict::UnknownKey);
    }
  }

  #[test]
  fn any_bit_flip_is_unknown_key(s in sealed(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
    let mut raw = s.raw.clone();
    let i = at.index(raw.len());
    raw[i] ^= 1 << bit;
    let ring = s.ring();
    let text = CANONICAL.encode(&raw);
    let verdict = payload::verify(&ring, text.as_bytes(), s.id.as_bytes());
    prop_assert_eq!(verdict, Verdict::UnknownKey, "flipped bit {} of byte {} ({} in IV ‖ body ‖ tag of {})",
      bit, i, if i < IV_LEN { "IV" } else if i >= raw.len() - TAG_LEN { "tag" } else { "body" }, raw.len());
    open_agrees(&ring, text.as_bytes(), &s.id, verdict)?;
  }

  #[test]
  fn truncated_or_extended_payloads_never_verify(s in sealed(), cut in 1usize..200,
                                                 extra in proptest::collection::vec(any::<u8>(), 1..40)) {
    let ring = s.ring();
    let minimum = IV_LEN + s.id.len() + TAG_LEN;
    let short = &s.raw[..s.raw.len().saturating_sub(cut)];
    let verdict = payload::verify(&ring, CANONICAL.encode(short).as_bytes(), s.id.as_bytes());
    prop_assert_eq!(verdict, if short.len() < minimum { Verdict::Malformed(Malformed::TooShort) } else { Verdict::UnknownKey });
    open_agrees(&ring, CANONICAL.encode(short).as_bytes(), &s.id, verdict)?;
    let mut long = s.raw.clone();
    long.extend_from_slice(&extra);
    let verdict = payload::verify(&ring, CANONICAL.encode(&long).as_bytes(), s.id.as_bytes());
    prop_assert_eq!(verdict, Verdict::UnknownKey);
  }

  #[test]
  fn truncated_text_never_verifies_unless_only_padding_went(s in sealed(), at in any::<prop::sample::Index>()) {
    let ring = s.ring();
    let text = &s.text[..at.index(s.text.len())];
    let verdict = payload::verify(&ring, text.as_bytes(), s.id.as_bytes());
    if atob::decode(text.as_bytes()).is_ok_and(|b| b == s.raw) {
      prop_assert_eq!(verdict, s.expected());
    } else {
      prop_assert!(matches!(verdict, Verdict::UnknownKey | Verdict::Malformed(Malformed::TooShort | Malformed::NotBase64)), "{:?}", verdict);
    }
    open_agrees(&ring, text.as_bytes(), &s.id, verdict)?;
  }

  #[test]
  fn whitespace_anywhere_is_what_atob_ignores(s in sealed(),
      spots in proptest::collection::vec((any::<prop::sample::Index>(), proptest::sample::select(b"\t\n\x0c\r ".to_vec())), 1..8)) {
    let mut text = s.text.clone().into_bytes();
    for (at, ws) in spots {
      let i = at.index(text.len() + 1);
      text.insert(i, ws);
    }
    prop_assert_eq!(payload::verify(&s.ring(), &text, s.id.as_bytes()), s.expected());
  }

  #[test]
  fn foreign_characters_are_not_base64(s in sealed(), at in any::<prop::sample::Index>(),
                                       c in proptest::sample::select(NOT_BASE64.to_vec()), replace in any::<bool>()) {
    let ring = s.ring();
    let mut chars: Vec<char> = s.text.chars().collect();
    let i = at.index(chars.len());
    if replace { chars[i] = c } else { chars.insert(i, c) }
    let text: String = chars.into_iter().collect();
    let verdict = payload::verify(&ring, text.as_bytes(), s.id.as_bytes());
    prop_assert_eq!(verdict, Verdict::Malformed(Malformed::NotBase64));
    open_agrees(&ring, text.as_bytes(), &s.id, verdict)?;
    // base64url, as a proxy or a careless re-encoder might write it.
    let url = s.text.replace('+', "-").replace('/', "_");
    if url != s.text {
      prop_assert_eq!(payload::verify(&ring, url.as_bytes(), s.id.as_bytes()), Verdict::Malformed(Malformed::NotBase64));
    }
  }

  #[test]
  fn padding_games_follow_atob(s in sealed(), extra in 1usize..6, at in any::<prop::sample::Index>()) {
    let ring = s.ring();
    let padded = format!("{}{}", s.text, "=".repeat(extra));
    prop_assert_eq!(payload::verify(&ring, padded.as_bytes(), s.id.as_bytes()), Verdict::Malformed(Malformed::NotBase64));
    let data = s.text.trim_end_matches('=');
    let mut inner = data.to_string();
    inner.insert(at.index(data.len()), '=');
    inner.push_str(&s.text[data.len()..]);
    prop_assert_eq!(payload::verify(&ring, inner.as_bytes(), s.id.as_bytes()), Verdict::Malformed(Malformed::NotBase64));
  }

  #[test]
  fn another_action_id_is_wrong_action_unless_a_prefix(s in sealed(), other in action_id(), take_prefix in any::<bool>()) {
    // Next.js checks `plaintext.startsWith(actionId)`; a 40-character prefix of a 42-character ID passes there too.
    let other = if take_prefix && s.id.len() == 42 { s.id[..40].to_string() } else { other };
    let ring = s.ring();
    let verdict = payload::verify(&ring, s.text.as_bytes(), other.as_bytes());
    let plain = format!("{}{}", s.id, s.rows);
    if plain.len() < other.len() {
      prop_assert_eq!(verdict, Verdict::Malformed(Malformed::TooShort));
    } else if plain.starts_with(&other) {
      prop_assert_eq!(verdict, s.expected());
    } else {
      prop_assert_eq!(verdict, Verdict::WrongAction(s.index));
    }
    open_agrees(&ring, s.text.as_bytes(), &other, verdict)?;
  }

  #[test]
  fn the_size_cap_comes_first(s in sealed(), cap in 1usize..400) {
    let previous: Vec<&str> = s.keys[1..].iter().map(String::as_str).collect();
    let ring = Keyring::new(&s.keys[0], &previous, Some(cap)).unwrap();
    let verdict = payload::verify(&ring, s.text.as_bytes(), s.id.as_bytes());
    prop_assert_eq!(verdict, if s.text.len() > cap { Verdict::Malformed(Malformed::TooLarge) } else { s.expected() });
    open_agrees(&ring, s.text.as_bytes(), &s.id, verdict)?;
  }

  #[test]
  fn random_edits_never_panic_and_open_agrees(s in sealed(), edits in proptest::collection::vec(
      (any::<prop::sample::Index>(), prop_oneof![any::<u8>(), proptest::sample::select(b"AZaz09+/= \n-_".to_vec())], 0u8..3), 1..5)) {
    let ring = s.ring();
    let mut text = s.text.clone().into_bytes();
    for (at, byte, op) in edits {
      match op {
        0 if !text.is_empty() => { let i = at.index(text.len()); text[i] = byte; }
        1 => { let i = at.index(text.len() + 1); text.insert(i, byte); }
        _ if !text.is_empty() => { let i = at.index(text.len()); text.remove(i); }
        _ => {}
      }
    }
    let verdict = payload::verify(&ring, &text, s.id.as_bytes());
    if atob::decode(&text).is_ok_and(|b| b == s.raw) {
      prop_assert_eq!(verdict, s.expected());
    } else {
      prop_assert!(!is_ok(verdict), "edited payload verified: {:?}", verdict);
    }
    open_agrees(&ring, &text, &s.id, verdict)?;
  }
}

/// Base64 text of up to ~1 KiB with a few edits: long enough for every SIMD
/// kernel width, with flaws at any position (foreign bytes, whitespace,
/// padding, cut ends).
fn long_base64ish() -> impl Strategy<Value = Vec<u8>> {
  (
    proptest::collection::vec(any::<u8>(), 0..800),
    proptest::collection::vec(
      (
        any::<prop::sample::Index>(),
        prop_oneof![proptest::sample::select(b"=-_ \n\t!\x00\xff".to_vec()), any::<u8>()],
        0u8..3,
      ),
      0..4,
    ),
    any::<bool>(),
  )
    .prop_map(|(bytes, edits, unpad)| {
      let mut text = CANONICAL.encode(&bytes).into_bytes();
      if unpad {
        while text.last() == Some(&b'=') {
          text.pop();
        }
      }
      for (at, byte, op) in edits {
        match op {
          0 if !text.is_empty() => {
            let i = at.index(text.len());
            text[i] = byte;
          }
          1 => {
            let i = at.index(text.len() + 1);
            text.insert(i, byte);
          }
          _ if !text.is_empty() => {
            let i = at.index(text.len());
            text.truncate(i);
          }
          _ => {}
        }
      }
      text
    })
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(5_000))]

  #[test]
  fn atob_matches_the_whatwg_algorithm_on_long_inputs(text in long_base64ish()) {
    let model = atob_model(&text);
    prop_assert_eq!(atob::decode(&text).ok(), model.clone());
    let mut out = vec![0u8; atob::max_decoded_len(text.len())];
    let sliced = atob::decode_to_slice(&text, &mut out).ok().map(|n| out[..n].to_vec());
    prop_assert_eq!(sliced, model);
  }

  #[test]
  fn seal_refuses_exactly_what_would_exceed_the_cap(id in action_id(), rows in rows(), cap in 1usize..300, iv in any::<[u8; 16]>()) {
    let ring = Keyring::new(KEY, &[], Some(cap)).unwrap();
    let encoded_len = (IV_LEN + id.len() + rows.len() + TAG_LEN).div_ceil(3) * 4;
    match payload::seal_with_iv(&ring, id.as_bytes(), &rows, iv) {
      Ok(text) => {
        prop_assert!(encoded_len <= cap);
        prop_assert_eq!(text.len(), encoded_len);
        prop_assert_eq!(payload::verify(&ring, text.as_bytes(), id.as_bytes()), Verdict::Current);
      }
      Err(e) => {
        prop_assert!(encoded_len > cap);
        prop_assert_eq!(e.code, Code::PayloadTooLarge);
      }
    }
  }

  #[test]
  fn key_entries_never_open_what_they_did_not_seal(key in key_bytes(), iv in any::<[u8; 16]>(),
                                                   body in proptest::collection::vec(any::<u8>(), 0..64), tag in any::<[u8; 16]>()) {
    let ring = Keyring::new(&CANONICAL.encode(&key), &[], None).unwrap();
    let entry = ring.current();
    let mut forged = body.clone();
    prop_assert!(!entry.open(&iv, &mut forged, &tag));
    prop_assert_eq!(&forged, &body, "a failed open must leave the buffer for the next key");
    let mut sealed = body.clone();
    let real_tag = entry.seal(&iv, &mut sealed).unwrap();
    prop_assert!(entry.open(&iv, &mut sealed, &real_tag));
    prop_assert_eq!(sealed, body);
  }

  #[test]
  fn verdict_codes_are_distinct_and_in_their_documented_ranges(n in 0usize..16, m in 0usize..16) {
    let all = [Verdict::Current, Verdict::Previous(n.max(1)), Verdict::WrongAction(m), Verdict::UnknownKey,
      Verdict::Malformed(Malformed::TooLarge), Verdict::Malformed(Malformed::NotBase64), Verdict::Malformed(Malformed::TooShort)];
    let codes: Vec<u32> = all.iter().map(|v| v.code()).collect();
    prop_assert_eq!(&codes[..], &[0, n.max(1) as u32, 16 + m as u32, 32, 33, 34, 35][..]);
  }
}
