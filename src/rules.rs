//! The rules the Rust core shares with the JS backend, read from
//! `lib/core/rules.json` when the crate is built (see build.rs): limits,
//! verdict codes, placeholder words and the wording of every message both
//! backends produce. A message is changed there, once, for both.

include!(concat!(env!("OUT_DIR"), "/rules.rs"));
