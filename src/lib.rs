//! Native core of `next-skew-guard`.
//!
//! The modules are plain Rust and know nothing about Node.js; this file holds
//! every `#[napi]` binding. The bindings are the low-level layer under the
//! package's JavaScript facade (`next-skew-guard`), which validates argument
//! types and turns the compact results below into documented objects.
//! Every binding catches panics (`catch_unwind`): no input may abort the host.

#![deny(clippy::all)]

pub mod atob;
pub mod build_id;
pub mod errors;
pub mod key;
pub mod keyring;
pub mod payload;
pub mod random;
mod rules;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod wipe_tests;

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::{Env, JsString, JsValue, Task};
use napi_derive::napi;
use zeroize::Zeroizing;

use crate::errors::GuardError;

/// Error status carried to JavaScript as `error.code` (a stable `ERR_…` string).
pub struct ErrCode(&'static str);

impl AsRef<str> for ErrCode {
  fn as_ref(&self) -> &str {
    self.0
  }
}

fn js_err(e: GuardError) -> napi::Error<ErrCode> {
  napi::Error::new(ErrCode(e.code.as_str()), e.message)
}

/// A new random key of `bytes` bytes (16, 24 or 32; default 32) from the
/// operating system's CSPRNG, as canonical base64.
#[napi(catch_unwind)]
pub fn generate_key(bytes: Option<u32>) -> Result<String, ErrCode> {
  key::generate_key(bytes.unwrap_or(32) as usize).map_err(js_err)
}

/// What `parseKey` learned about a valid key. Never contains key material.
#[napi(object)]
pub struct KeyInfo {
  /// Decoded length in bytes: 16, 24 or 32.
  pub bytes: u32,
  /// AES key size in bits: 128, 192 or 256.
  pub bits: u32,
  /// Key check value: 6 hex digits, safe to log and compare across machines.
  pub check_value: String,
  /// The string is exactly the padded, whitespace-free base64 of the key.
  pub canonical: bool,
}

/// Parses a key exactly as Next.js reads `NEXT_SERVER_ACTIONS_ENCRYPTION_KEY`
/// and throws, with a stable `code`, on anything Next.js would reject.
#[napi(catch_unwind)]
pub fn parse_key(key: String) -> Result<KeyInfo, ErrCode> {
  let key = Zeroizing::new(key);
  let parsed = key::parse_key(&key).map_err(js_err)?;
  Ok(KeyInfo {
    bytes: parsed.len() as u32,
    bits: parsed.len() as u32 * 8,
    check_value: parsed.check_value(),
    canonical: parsed.canonical,
  })
}

/// One finding of `checkKey`.
#[napi(object)]
pub struct KeyFinding {
  /// Stable identifier: `ERR_KEY_…` for errors, `WARN_KEY_…` for warnings.
  pub code: String,
  /// What is wrong and what to do, without the key itself.
  pub message: String,
}

/// The verdict of `checkKey`.
#[napi(object)]
pub struct KeyCheckReport {
  /// True when the key is usable and not public or degenerate.
  pub ok: bool,
  /// Decoded length in bytes, when the key is base64 at all.
  pub bytes: Option<u32>,
  /// Check value, when the key has a valid length.
  pub check_value: Option<String>,
  /// Reasons the key must not be used.
  pub errors: Vec<KeyFinding>,
  /// Forms Next.js accepts that are probably mistakes.
  pub warnings: Vec<KeyFinding>,
}

/// Checks a key: everything `parseKey` rejects, plus public and degenerate
/// keys (errors) and accepted-but-suspicious forms (warnings). Never throws
/// for a string argument.
#[napi(catch_unwind)]
pub fn check_key(key: String) -> KeyCheckReport {
  let key = Zeroizing::new(key);
  let report = key::check_key(&key);
  let (errors, warnings): (Vec<_>, Vec<_>) =
    report.findings.into_iter().partition(|f| f.severity == key::Severity::Error);
  let convert =
    |v: Vec<key::Finding>| v.into_iter().map(|f| KeyFinding { code: f.code.to_string(), message: f.message }).collect();
  KeyCheckReport {
    ok: report.ok,
    bytes: report.bytes.map(|b| b as u32),
    check_value: report.check_value,
    errors: convert(errors),
    warnings: convert(warnings),
  }
}

/// The check value of a key (6 hex digits): the first bytes of AES(key, zero
/// block). Throws like `parseKey` for an invalid key.
#[napi(catch_unwind)]
pub fn key_check_value(key: String) -> Result<String, ErrCode> {
  let key = Zeroizing::new(key);
  Ok(key::parse_key(&key).map_err(js_err)?.check_value())
}

/// Compares a client's build ID with the server's: `"same"`, `"different"`,
/// or `"unknown"` when either is absent or empty. Constant-time for equal
/// lengths.
#[napi(catch_unwind, ts_return_type = "'same' | 'different' | 'unknown'")]
pub fn compare_build_ids(client: Option<String>, server: Option<String>) -> Result<&'static str, ErrCode> {
  let result =
    build_id::compare(client.as_deref().map(str::as_bytes), server.as_deref().map(str::as_bytes)).map_err(js_err)?;
  Ok(match result {
    build_id::BuildIdMatch::Same => "same",
    build_id::BuildIdMatch::Different => "different",
    build_id::BuildIdMatch::Unknown => "unknown",
  })
}

/// Whether a tab loaded at `clientLoadedAt` must reload at `now` because the
/// key rotated at `rotatedAt` and the `noticeMs` grace period has passed
/// (all in milliseconds since the epoch, except `noticeMs`).
#[napi(catch_unwind)]
pub fn should_force_refresh(client_loaded_at: f64, rotated_at: f64, notice_ms: f64, now: f64) -> Result<bool, ErrCode> {
  build_id::should_force_refresh(client_loaded_at, rotated_at, notice_ms, now).map_err(js_err)
}

/// An opened payload.
#[napi(object)]
pub struct OpenedPayload {
  /// Which key opened it: 0 = current, n = previous key n.
  pub key_index: u32,
  /// Flight rows after the action ID (e.g. `0:["x"]\n`).
  pub rows: String,
}

impl From<payload::Opened> for OpenedPayload {
  fn from(opened: payload::Opened) -> Self {
    OpenedPayload { key_index: opened.key_index as u32, rows: opened.rows }
  }
}

/// Strings up to this many UTF-8 bytes (less the NUL and a 4-byte margin) are
/// read onto the stack: every payload up to a 1 KiB plaintext (1,408
/// characters) and any action ID.
const INLINE_STR: usize = 2048;

/// A JavaScript value whose bytes a binding reads: a string (as UTF-8) or a
/// `Uint8Array` (as is). Every payload and action ID argument is read through
/// this, so all keyring methods accept and refuse the same values.
trait ReadBytes {
  /// Runs `f` on the value's bytes.
  fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R, ErrCode>;
}

/// napi-rs's `String` argument asks Node for the length, allocates, then
/// copies: two passes over the string plus a `malloc`/`free`, a third of a
/// small payload's total time. Here one `napi_get_value_string_utf8` call
/// copies a short string onto the stack. Node never splits a character, so a
/// copy that stops within 4 bytes of the end of the buffer may be cut short;
/// only then is the string read again at its full length.
impl ReadBytes for JsString<'_> {
  fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R, ErrCode> {
    let value = self.value();
    let mut stack = std::mem::MaybeUninit::<[u8; INLINE_STR]>::uninit();
    let mut written = 0usize;
    // SAFETY: Node writes at most `INLINE_STR - 1` bytes plus a NUL into the
    // buffer and reports how many it wrote; only those are read.
    let status = unsafe {
      napi::sys::napi_get_value_string_utf8(value.env, value.value, stack.as_mut_ptr().cast(), INLINE_STR, &mut written)
    };
    if status != napi::sys::Status::napi_ok {
      return Err(not_a_string());
    }
    if written + 4 < INLINE_STR - 1 {
      // SAFETY: the first `written` bytes were initialised by Node just above.
      return Ok(f(unsafe { std::slice::from_raw_parts(stack.as_ptr().cast::<u8>(), written) }));
    }
    let mut len = 0usize;
    // SAFETY: a null buffer asks only for the length.
    unsafe { napi::sys::napi_get_value_string_utf8(value.env, value.value, std::ptr::null_mut(), 0, &mut len) };
    let mut heap = vec![0u8; len + 1];
    // SAFETY: `heap` has room for `len` bytes and the NUL.
    let status = unsafe {
      napi::sys::napi_get_value_string_utf8(value.env, value.value, heap.as_mut_ptr().cast(), len + 1, &mut written)
    };
    if status != napi::sys::Status::napi_ok {
      return Err(not_a_string());
    }
    Ok(f(&heap[..written]))
  }
}

impl ReadBytes for &[u8] {
  fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R, ErrCode> {
    Ok(f(self))
  }
}

impl<A: ReadBytes, B: ReadBytes> ReadBytes for Either<A, B> {
  fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R, ErrCode> {
    match self {
      Either::A(a) => a.with_bytes(f),
      Either::B(b) => b.with_bytes(f),
    }
  }
}

fn not_a_string() -> napi::Error<ErrCode> {
  napi::Error::new(ErrCode(errors::Code::InvalidArgType.as_str()), "Expected a string.")
}

/// Runs `f` on a validated action ID and a payload's bytes. The action ID is
/// checked first, so a bad one is refused before any payload is read.
fn with_payload_args<R>(
  payload: &impl ReadBytes,
  action_id: &JsString<'_>,
  f: impl FnOnce(&[u8], &[u8]) -> errors::GuardResult<R>,
) -> Result<R, ErrCode> {
  with_action_id(action_id, |id| payload.with_bytes(|p| f(p, id)))??.map_err(js_err)
}

/// Runs `f` on a validated action ID.
fn with_action_id<R>(action_id: &JsString<'_>, f: impl FnOnce(&[u8]) -> R) -> Result<R, ErrCode> {
  action_id.with_bytes(|id| payload::validate_action_id(id).map(|()| f(id)).map_err(js_err))?
}

// The task types come before `NativeKeyring`: napi-rs learns what a task
// resolves to from its `#[napi] impl Task`, and types `AsyncTask<…>` returns
// as `Promise<…>` only for tasks it has already seen.

/// Runs a core operation on a libuv worker thread. That is outside any
/// `#[napi(catch_unwind)]` frame, so a panic is caught here (unwinding out of
/// the worker would abort the process) and becomes `ERR_INTERNAL`. The
/// error, like any other, is carried to [`settle`] as a value: a task's own
/// error type can hold only a napi status, not an `ERR_…` code.
fn run_on_worker<T>(op: impl FnOnce() -> errors::GuardResult<T>) -> napi::Result<errors::GuardResult<T>> {
  Ok(std::panic::catch_unwind(std::panic::AssertUnwindSafe(op)).unwrap_or_else(|_| {
    Err(GuardError::new(errors::Code::Internal, "next-skew-guard hit an internal error; please report it."))
  }))
}

/// Back on the JavaScript thread: resolves with the value, or rejects with
/// the same coded `Error` the synchronous methods throw.
fn settle<T>(env: Env, output: errors::GuardResult<T>) -> napi::Result<T> {
  output.map_err(|e| napi::Error::from(napi::JsError::from(js_err(e)).into_unknown(env)))
}

/// The inputs of an async payload method: copies, so the caller may reuse
/// its buffers at once.
#[doc(hidden)]
pub struct PayloadJob {
  ring: Arc<keyring::Keyring>,
  payload: Vec<u8>,
  action_id: Vec<u8>,
}

impl PayloadJob {
  fn new(ring: &Arc<keyring::Keyring>, payload: &impl ReadBytes, action_id: &JsString<'_>) -> Result<Self, ErrCode> {
    with_payload_args(payload, action_id, |p, id| {
      Ok(PayloadJob { ring: ring.clone(), payload: p.to_vec(), action_id: id.to_vec() })
    })
  }
}

/// The work of `verifyAsync`.
#[doc(hidden)]
pub struct VerifyTask(PayloadJob);

#[napi]
impl Task for VerifyTask {
  type Output = errors::GuardResult<u32>;
  type JsValue = u32;

  fn compute(&mut self) -> napi::Result<Self::Output> {
    let PayloadJob { ring, payload, action_id } = &self.0;
    run_on_worker(|| Ok(payload::verify(ring, payload, action_id).code()))
  }

  fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<u32> {
    settle(env, output)
  }
}

/// The work of `openAsync`.
#[doc(hidden)]
pub struct OpenTask(PayloadJob);

#[napi]
impl Task for OpenTask {
  type Output = errors::GuardResult<OpenedPayload>;
  type JsValue = OpenedPayload;

  fn compute(&mut self) -> napi::Result<Self::Output> {
    let PayloadJob { ring, payload, action_id } = &self.0;
    run_on_worker(|| payload::open(ring, payload, action_id).map(OpenedPayload::from))
  }

  fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<OpenedPayload> {
    settle(env, output)
  }
}

/// The work of `sealAsync`.
#[doc(hidden)]
pub struct SealTask {
  ring: Arc<keyring::Keyring>,
  action_id: Vec<u8>,
  rows: String,
}

#[napi]
impl Task for SealTask {
  type Output = errors::GuardResult<String>;
  type JsValue = String;

  fn compute(&mut self) -> napi::Result<Self::Output> {
    run_on_worker(|| payload::seal(&self.ring, &self.action_id, &self.rows))
  }

  fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<String> {
    settle(env, output)
  }
}

/// The native keyring. Holds expanded keys in Rust memory only; nothing
/// about them but check values ever reaches JavaScript.
///
/// Every payload method takes its arguments in the facade's order, the
/// payload as a string or a `Uint8Array`, the action ID as a string, and
/// checks the action ID first. Failures throw (or reject with) an `Error`
/// whose `code` is a stable `ERR_…` string.
#[napi]
pub struct NativeKeyring {
  inner: Arc<keyring::Keyring>,
}

#[napi]
impl NativeKeyring {
  /// Builds a keyring from base64 keys; `maxPayloadBytes` caps payload length
  /// in characters (default 1 MiB).
  #[napi(constructor, catch_unwind)]
  pub fn new(current: String, previous: Vec<String>, max_payload_bytes: Option<u32>) -> Result<Self, ErrCode> {
    // napi hands over copies of the key text: wiped when they are dropped.
    let (current, previous) = (Zeroizing::new(current), Zeroizing::new(previous));
    let previous: Vec<&str> = previous.iter().map(String::as_str).collect();
    let ring = keyring::Keyring::new(&current, &previous, max_payload_bytes.map(|n| n as usize)).map_err(js_err)?;
    Ok(NativeKeyring { inner: Arc::new(ring) })
  }

  /// Check values of the keys, current first.
  #[napi(getter, catch_unwind)]
  pub fn check_values(&self) -> Vec<String> {
    self.inner.entries().iter().map(|e| e.check_value().to_string()).collect()
  }

  /// The payload length cap in characters.
  #[napi(getter, catch_unwind)]
  pub fn max_payload_bytes(&self) -> u32 {
    self.inner.max_payload() as u32
  }

  /// Classifies a payload string. Returns a compact verdict code (the
  /// `verdicts` of `lib/core/rules.json`): `0..=15` authentic under key n
  /// (0 = current), `16..=31` authentic under key n-16 but for another
  /// action, `32` unknown key, `33` too large, `34` not base64, `35` too short.
  ///
  /// The hot path: short strings are copied onto the stack, with no heap
  /// allocation.
  #[napi(catch_unwind)]
  pub fn verify_string(&self, payload: JsString<'_>, action_id: JsString<'_>) -> Result<u32, ErrCode> {
    with_payload_args(&payload, &action_id, |p, id| Ok(payload::verify(&self.inner, p, id).code()))
  }

  /// `verifyString` for a payload held as bytes.
  #[napi(catch_unwind)]
  pub fn verify_bytes(&self, payload: &[u8], action_id: JsString<'_>) -> Result<u32, ErrCode> {
    with_payload_args(&payload, &action_id, |p, id| Ok(payload::verify(&self.inner, p, id).code()))
  }

  /// `verifyString` on the libuv thread pool.
  #[napi(catch_unwind)]
  pub fn verify_async(
    &self,
    payload: Either<JsString<'_>, &[u8]>,
    action_id: JsString<'_>,
  ) -> Result<AsyncTask<VerifyTask>, ErrCode> {
    Ok(AsyncTask::new(VerifyTask(PayloadJob::new(&self.inner, &payload, &action_id)?)))
  }

  /// Opens a payload and returns its Flight rows; throws `ERR_PAYLOAD_…`
  /// errors where verify would report a failure.
  #[napi(catch_unwind)]
  pub fn open(&self, payload: Either<JsString<'_>, &[u8]>, action_id: JsString<'_>) -> Result<OpenedPayload, ErrCode> {
    with_payload_args(&payload, &action_id, |p, id| payload::open(&self.inner, p, id).map(OpenedPayload::from))
  }

  /// `open` on the libuv thread pool.
  #[napi(catch_unwind)]
  pub fn open_async(
    &self,
    payload: Either<JsString<'_>, &[u8]>,
    action_id: JsString<'_>,
  ) -> Result<AsyncTask<OpenTask>, ErrCode> {
    Ok(AsyncTask::new(OpenTask(PayloadJob::new(&self.inner, &payload, &action_id)?)))
  }

  /// Seals Flight rows for an action with the current key and a random IV,
  /// as Next.js does; the result is a payload Next.js decrypts.
  #[napi(catch_unwind)]
  pub fn seal(&self, action_id: JsString<'_>, rows: String) -> Result<String, ErrCode> {
    with_action_id(&action_id, |id| payload::seal(&self.inner, id, &rows))?.map_err(js_err)
  }

  /// `seal` on the libuv thread pool.
  #[napi(catch_unwind)]
  pub fn seal_async(&self, action_id: JsString<'_>, rows: String) -> Result<AsyncTask<SealTask>, ErrCode> {
    let action_id = with_action_id(&action_id, <[u8]>::to_vec)?;
    Ok(AsyncTask::new(SealTask { ring: self.inner.clone(), action_id, rows }))
  }
}
