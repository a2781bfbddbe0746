//! Property tests: every parser and verifier meets at least 10,000 random
//! inputs (byte strings and strings) without panicking, and the round trips
//! that must hold, hold.

use base64::Engine;
use crate::atob::{self, CANONICAL};
use crate::build_id;
use crate::key::{check_key, parse_key};
use crate::keyring::Keyring;
use crate::payload::{self, Verdict};
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
