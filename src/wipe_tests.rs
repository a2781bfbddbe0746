//! Proof that key material is wiped before its memory is freed: while a test
//! thread is "watching", this allocator searches every block the thread frees
//! for the watched byte strings (key bytes, key text) and counts the blocks
//! that still hold one. A growing buffer is moved by hand (allocate, copy,
//! free) so that the abandoned copy is searched too. Other threads, and this
//! one when not watching, go straight to the system allocator.
//!
//! Test-only: the allocator is this crate's global allocator in `cargo test`
//! builds and never part of the addon.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use base64::Engine;
use zeroize::Zeroizing;

use crate::atob::CANONICAL;
use crate::errors::Code;
use crate::key::{check_key, check_value, parse_key};
use crate::keyring::Keyring;

const MAX_NEEDLES: usize = 8;
const NEEDLE_LEN: usize = 16;

type Needles = [[u8; NEEDLE_LEN]; MAX_NEEDLES];

thread_local! {
  // `const` initialisers and `Copy` types: no allocation, no destructor,
  // so these are safe to touch from inside the allocator.
  static WATCH: Cell<Option<(Needles, usize)>> = const { Cell::new(None) };
  static HITS: Cell<usize> = const { Cell::new(0) };
}

fn holds_needle(block: &[u8], needles: &Needles, count: usize) -> bool {
  needles[..count].iter().any(|n| block.windows(NEEDLE_LEN).any(|w| w == n))
}

/// Searches a block about to be freed, when this thread is watching.
fn inspect(ptr: *mut u8, size: usize) {
  let Ok(Some((needles, count))) = WATCH.try_with(Cell::get) else { return };
  // SAFETY: the block is still allocated and `size` bytes long.
  let block = unsafe { std::slice::from_raw_parts(ptr, size) };
  if holds_needle(block, &needles, count) {
    let _ = HITS.try_with(|h| h.set(h.get() + 1));
  }
}

fn watching() -> bool {
  WATCH.try_with(|w| w.get().is_some()).unwrap_or(false)
}

struct Inspecting;

// SAFETY: every call is forwarded to `System`; `inspect` only reads blocks
// that are still allocated.
unsafe impl GlobalAlloc for Inspecting {
  unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
    unsafe { System.alloc(layout) }
  }
  unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
    inspect(ptr, layout.size());
    unsafe { System.dealloc(ptr, layout) }
  }
  unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    if !watching() {
      return unsafe { System.realloc(ptr, layout, new_size) };
    }
    // SAFETY: as `GlobalAlloc::realloc`'s default: a fresh block, a copy of
    // the smaller length, then the old block freed (and searched).
    unsafe {
      let new = System.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
      if !new.is_null() {
        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
        self.dealloc(ptr, layout);
      }
      new
    }
  }
}

#[global_allocator]
static ALLOCATOR: Inspecting = Inspecting;

/// Runs `f` while watching for `forms`' first 16 bytes in freed blocks;
/// returns how many freed blocks still held one.
fn freed_blocks_holding(forms: &[&[u8]], f: impl FnOnce()) -> usize {
  let mut needles = [[0u8; NEEDLE_LEN]; MAX_NEEDLES];
  for (slot, form) in needles.iter_mut().zip(forms) {
    slot.copy_from_slice(&form[..NEEDLE_LEN]);
  }
  HITS.with(|h| h.set(0));
  WATCH.with(|w| w.set(Some((needles, forms.len().min(MAX_NEEDLES)))));
  f();
  WATCH.with(|w| w.set(None));
  HITS.with(Cell::get)
}

/// A test-only key (not in the public list) and the forms it may take.
struct TestKey {
  bytes: [u8; 32],
  text: Zeroizing<String>,
  hex: Zeroizing<String>,
}

fn test_key(seed: u8) -> TestKey {
  let mut bytes = [0u8; 32];
  for (i, b) in bytes.iter_mut().enumerate() {
    *b = (i as u8).wrapping_mul(151).wrapping_add(seed).rotate_left(3) ^ 0x5a;
  }
  let text = Zeroizing::new(CANONICAL.encode(bytes));
  let hex = Zeroizing::new(bytes.iter().map(|b| format!("{b:02x}")).collect());
  TestKey { bytes, text, hex }
}

impl TestKey {
  /// Raw bytes (each half: AES-256 round keys 0 and 1 are the key itself),
  /// base64 text and hex text.
  fn forms(&self) -> [&[u8]; 4] {
    [&self.bytes[..16], &self.bytes[16..], self.text.as_bytes(), self.hex.as_bytes()]
  }

  /// An input string built before watching starts and wiped when dropped.
  fn input(&self, make: impl Fn(&str) -> String) -> Zeroizing<String> {
    Zeroizing::new(make(&self.text))
  }
}

#[test]
fn the_search_finds_an_unwiped_copy() {
  let key = test_key(1);
  let leaked = freed_blocks_holding(&key.forms(), || drop(key.bytes.to_vec()));
  assert_eq!(leaked, 1, "the allocator did not see a freed copy of the key");
  let wiped = freed_blocks_holding(&key.forms(), || drop(Zeroizing::new(key.bytes.to_vec())));
  assert_eq!(wiped, 0);
}

#[test]
fn parsing_and_checking_leave_no_copy_behind() {
  let key = test_key(2);
  let inputs = [
    key.input(|k| k.to_owned()),
    key.input(|k| format!("  {k}\n")),
    key.input(|k| k.trim_end_matches('=').to_owned()),
    key.input(|k| format!("{}\n{}", &k[..20], &k[20..])),
  ];
  let leaked = freed_blocks_holding(&key.forms(), || {
    for input in &inputs {
      let parsed = parse_key(input).unwrap();
      assert_eq!(parsed.bytes(), key.bytes);
      assert_eq!(parsed.check_value(), check_value(&key.bytes));
      drop(parsed);
      assert!(check_key(input).ok);
    }
  });
  assert_eq!(leaked, 0, "{leaked} freed blocks still held the key");
}

#[test]
fn rejected_keys_leave_no_copy_behind() {
  let key = test_key(3);
  let cases = [
    (key.input(|_| key.hex.to_string()), Code::KeyHex),
    (key.input(|k| k.replace('+', "-").replace('/', "_").trim_end_matches('=').to_owned() + "-_"), Code::KeyBase64Url),
    (key.input(|k| format!("\"{k}\"")), Code::KeyQuoted),
    (key.input(|k| format!("{k}!")), Code::KeyNotBase64),
    (key.input(|k| format!("{}=={}", &k[..20], &k[20..])), Code::KeyNotBase64),
    (key.input(|k| k[..41].to_owned()), Code::KeyNotBase64),
    (key.input(|k| k.trim_end_matches('=').repeat(2)), Code::KeyLength),
  ];
  for (input, code) in &cases {
    let leaked = freed_blocks_holding(&key.forms(), || {
      assert_eq!(parse_key(input).err().map(|e| e.code), Some(*code));
    });
    assert_eq!(leaked, 0, "parse_key ({code:?}): {leaked} freed blocks still held the key");
    let leaked = freed_blocks_holding(&key.forms(), || assert!(!check_key(input).ok));
    assert_eq!(leaked, 0, "check_key ({code:?}): {leaked} freed blocks still held the key");
  }
}

#[test]
fn keyrings_wipe_their_key_schedules() {
  let (current, previous) = (test_key(4), test_key(5));
  let previous_text = previous.input(|k| format!("{k}\n"));
  let forms: Vec<&[u8]> = current.forms().into_iter().chain(previous.forms()).collect();
  let leaked = freed_blocks_holding(&forms, || {
    let ring = Keyring::new(&current.text, &[previous_text.as_str()], None).unwrap();
    assert_eq!(ring.entries()[1].check_value(), check_value(&previous.bytes));
    drop(ring);
  });
  assert_eq!(leaked, 0, "{leaked} freed blocks still held a key or its schedule");
}
