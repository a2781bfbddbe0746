//! Rust-level benchmark of the verification hot path, without Node.js: what
//! the crypto and base64 work costs on its own, so the napi numbers of
//! `npm run bench` can be split into "work" and "crossing the boundary".
//!
//! Run: `cargo bench --bench verify` (release profile, LTO). Set
//! `BENCH_JSON=path` to also write the results as JSON (`npm run bench` reads
//! them from there). Uses `harness = false` and `std::time` only, so it needs
//! no benchmark framework: each case is calibrated to ~10 ms per round,
//! warmed up, run for 15 rounds, and the median round is reported.

use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::Engine;
use next_skew_guard::atob;
use next_skew_guard::keyring::{Keyring, IV_LEN, TAG_LEN};
use next_skew_guard::payload::{self, seal_with_iv, Verdict};

const ROUNDS: usize = 15;
const ROUND_TIME: Duration = Duration::from_millis(10);
const ACTION_ID: &str = "60c6dd4c8b146d5c3453cdc7c1eb87f87a63a6a732";
const KEYS: [&str; 3] = [
  "7ZJGtsmJYQnc0T9Q4tVWQf2DnUOU9nYjwfxKDnm3rNk=",
  "5PjGZ1RYdErZbqd2F7DO5CGqVvvUkrzVLTrHzdj3xso=",
  "oqcR2tAN0mqeH5wxnQ4jHHRrxbeIy1vjWgPyr0DXVIM=",
];

struct Row {
  name: String,
  ns: f64,
  bytes: usize,
}

/// Median nanoseconds per call of `f`.
fn measure(mut f: impl FnMut()) -> f64 {
  let mut iters = 1u64;
  loop {
    let t = Instant::now();
    for _ in 0..iters {
      f();
    }
    if t.elapsed() >= ROUND_TIME / 4 || iters >= 1 << 30 {
      break;
    }
    iters *= 2;
  }
  iters *= 4;
  let mut rounds: Vec<f64> = (0..ROUNDS + 2)
    .map(|_| {
      let t = Instant::now();
      for _ in 0..iters {
        f();
      }
      t.elapsed().as_nanos() as f64 / iters as f64
    })
    .skip(2) // warm-up rounds
    .collect();
  rounds.sort_by(f64::total_cmp);
  rounds[rounds.len() / 2]
}

struct Bench {
  filter: String,
  rows: Vec<Row>,
}

impl Bench {
  /// Measures `f` as case `name` (`bytes` processed per call, 0 for none) and prints its line.
  fn case(&mut self, name: impl Into<String>, bytes: usize, f: impl FnMut()) {
    let name = name.into();
    if !name.contains(self.filter.as_str()) {
      return;
    }
    let ns = measure(f);
    let rate = if bytes > 0 { format!("   {:>8.0} MB/s", bytes as f64 / ns * 1e3) } else { String::new() };
    println!("{name:<44} {ns:>12.1} ns{rate}");
    self.rows.push(Row { name, ns, bytes });
  }
}

fn rows_of(plaintext_len: usize) -> String {
  let filler = plaintext_len.saturating_sub(ACTION_ID.len() + 7);
  format!("0:[\"{}\"]\n", "x".repeat(filler))
}

fn main() {
  let iv: [u8; IV_LEN] = core::array::from_fn(|i| i as u8);
  let one = Keyring::new(KEYS[0], &[], None).unwrap();
  let three = Keyring::new(KEYS[1], &[KEYS[2], KEYS[0]], None).unwrap();
  let id = ACTION_ID.as_bytes();
  // BENCH_FILTER=text: measure only the cases whose name contains it (for profiling one case).
  let mut bench = Bench { filter: std::env::var("BENCH_FILTER").unwrap_or_default(), rows: Vec::new() };

  println!(
    "CPU features: aes={} pclmulqdq={} avx2={} vaes={} vpclmulqdq={} avx512f={}",
    cfg!(target_arch = "x86_64") && std::is_x86_feature_detected!("aes"),
    std::is_x86_feature_detected!("pclmulqdq"),
    std::is_x86_feature_detected!("avx2"),
    std::is_x86_feature_detected!("vaes"),
    std::is_x86_feature_detected!("vpclmulqdq"),
    std::is_x86_feature_detected!("avx512f"),
  );
  println!("aes::hardware_accelerated() = {}\n", aes::hardware_accelerated());

  bench.case("validate_action_id (42 chars)", 0, || {
    black_box(payload::validate_action_id(black_box(id)).is_ok());
  });

  // The 128-character payload is one Next.js itself makes (the vector
  // `spec-1.3-1-aes256-closure-secret` of __test__/fixtures/next-vectors.json):
  // a 42-char action ID plus `0:["closure-secret"]\n`.
  for (label, plain_len) in
    [("128-char payload", 0usize), ("1 KiB plaintext", 1024), ("64 KiB plaintext", 64 * 1024 + 49)]
  {
    let rows_text = if plain_len == 0 { "0:[\"closure-secret\"]\n".to_string() } else { rows_of(plain_len) };
    let sealed = seal_with_iv(&one, id, &rows_text, iv).unwrap();
    let text = sealed.as_bytes();
    assert_eq!(payload::verify(&one, text, id), Verdict::Current);
    let decoded = atob::decode(text).unwrap();
    let body_len = decoded.len() - IV_LEN - TAG_LEN;

    bench.case(format!("atob decode, {label} ({} chars)", text.len()), text.len(), || {
      let mut out = Vec::new();
      black_box(atob::decode_into(black_box(text), &mut out).is_ok());
      black_box(out);
    });

    // AES-GCM alone: tag check + CTR decryption of the body in place. The
    // body is restored from a copy each time (a memcpy, included).
    let tag: [u8; TAG_LEN] = decoded[decoded.len() - TAG_LEN..].try_into().unwrap();
    let div: [u8; IV_LEN] = decoded[..IV_LEN].try_into().unwrap();
    let body = decoded[IV_LEN..IV_LEN + body_len].to_vec();
    let mut scratch = body.clone();
    bench.case(format!("AES-256-GCM open, {label} ({body_len} B)"), body_len, || {
      scratch.copy_from_slice(&body);
      assert!(one.current().open(black_box(&div), &mut scratch, black_box(&tag)));
    });

    bench.case(format!("payload::verify, {label}"), text.len(), || {
      black_box(payload::verify(&one, black_box(text), id));
    });
  }

  let oldest = seal_with_iv(&Keyring::new(KEYS[0], &[], None).unwrap(), id, "0:[\"closure-secret\"]\n", iv).unwrap();
  assert_eq!(payload::verify(&three, oldest.as_bytes(), id), Verdict::Previous(2));
  bench.case("payload::verify, 3-key keyring, oldest key", 0, || {
    black_box(payload::verify(&three, black_box(oldest.as_bytes()), id));
  });
  let tampered = {
    let mut b = atob::decode(oldest.as_bytes()).unwrap();
    b[20] ^= 1;
    atob::CANONICAL.encode(&b)
  };
  bench.case("payload::verify, unknown key (1 key)", 0, || {
    black_box(payload::verify(&one, black_box(tampered.as_bytes()), id));
  });

  if let Ok(path) = std::env::var("BENCH_JSON") {
    let items: Vec<String> = bench
      .rows
      .iter()
      .map(|r| format!("{{\"name\":{:?},\"ns\":{:.1},\"bytes\":{}}}", r.name, r.ns, r.bytes))
      .collect();
    let json = format!("{{\"unit\":\"ns/op\",\"rounds\":{ROUNDS},\"rows\":[{}]}}\n", items.join(","));
    std::fs::write(&path, json).expect("BENCH_JSON is not writable");
    println!("\nwrote {path}");
  }
}
