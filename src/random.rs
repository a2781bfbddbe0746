//! Random bytes from the operating system's CSPRNG, for keys and IVs.

use crate::errors::{Code, GuardError, GuardResult};

/// Fills `buf` from the operating system's CSPRNG. Fails (rather than falling
/// back to anything weaker) when the OS source is unavailable.
pub fn fill_random(buf: &mut [u8]) -> GuardResult<()> {
  getrandom::fill(buf)
    .map_err(|e| GuardError::new(Code::Random, format!("The operating system's random number generator failed: {e}")))
}
