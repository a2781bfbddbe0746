//! Error type shared by every module: a stable machine-readable code plus a
//! message that tells the user what to do. Messages never contain key material.

use std::fmt;

/// Stable error codes. The string form (`ERR_…`) is part of the public API:
/// JavaScript callers branch on `error.code`, so a code is never renamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
  /// An argument has the wrong JavaScript type.
  InvalidArgType,
  /// An argument has the right type but an unusable value.
  InvalidArgValue,
  /// The key is empty or only whitespace.
  KeyEmpty,
  /// The key is wrapped in, or contains, quote characters.
  KeyQuoted,
  /// The key is a documentation placeholder such as `your-generated-key`.
  KeyPlaceholder,
  /// The key uses the base64url alphabet (`-`, `_`), which `atob` rejects.
  KeyBase64Url,
  /// The key contains a character that is not base64.
  KeyNotBase64,
  /// The key looks like hex (e.g. `openssl rand -hex 32`).
  KeyHex,
  /// The key decodes to a length AES cannot use.
  KeyLength,
  /// The key is published somewhere (documentation, examples, test vectors).
  KeyPublic,
  /// The key has no entropy worth the name (every byte the same).
  KeyWeak,
  /// A keyring was built without a current key.
  KeyringEmpty,
  /// The same key appears twice in a keyring.
  KeyringDuplicate,
  /// More keys than a keyring holds.
  KeyringTooLarge,
  /// An action ID that is not 40 or 42 lowercase hex characters.
  ActionId,
  /// A payload larger than the configured cap.
  PayloadTooLarge,
  /// A payload `atob` would reject.
  PayloadNotBase64,
  /// A payload too short to hold IV, action ID and tag.
  PayloadTooShort,
  /// No key in the keyring authenticates the payload.
  PayloadUnknownKey,
  /// The payload decrypts but was made for another action.
  PayloadWrongAction,
  /// A build ID over the length limit.
  BuildIdTooLong,
  /// The operating system's random source failed.
  Random,
  /// A defect in this crate (a caught panic); never caused by input.
  Internal,
}

impl Code {
  /// The stable string form used as `error.code` in JavaScript.
  pub fn as_str(self) -> &'static str {
    match self {
      Code::InvalidArgType => "ERR_INVALID_ARG_TYPE",
      Code::InvalidArgValue => "ERR_INVALID_ARG_VALUE",
      Code::KeyEmpty => "ERR_KEY_EMPTY",
      Code::KeyQuoted => "ERR_KEY_QUOTED",
      Code::KeyPlaceholder => "ERR_KEY_PLACEHOLDER",
      Code::KeyBase64Url => "ERR_KEY_BASE64URL",
      Code::KeyNotBase64 => "ERR_KEY_NOT_BASE64",
      Code::KeyHex => "ERR_KEY_HEX",
      Code::KeyLength => "ERR_KEY_LENGTH",
      Code::KeyPublic => "ERR_KEY_PUBLIC",
      Code::KeyWeak => "ERR_KEY_WEAK",
      Code::KeyringEmpty => "ERR_KEYRING_EMPTY",
      Code::KeyringDuplicate => "ERR_KEYRING_DUPLICATE",
      Code::KeyringTooLarge => "ERR_KEYRING_TOO_LARGE",
      Code::ActionId => "ERR_ACTION_ID",
      Code::PayloadTooLarge => "ERR_PAYLOAD_TOO_LARGE",
      Code::PayloadNotBase64 => "ERR_PAYLOAD_NOT_BASE64",
      Code::PayloadTooShort => "ERR_PAYLOAD_TOO_SHORT",
      Code::PayloadUnknownKey => "ERR_PAYLOAD_UNKNOWN_KEY",
      Code::PayloadWrongAction => "ERR_PAYLOAD_WRONG_ACTION",
      Code::BuildIdTooLong => "ERR_BUILD_ID_TOO_LONG",
      Code::Random => "ERR_RANDOM",
      Code::Internal => "ERR_INTERNAL",
    }
  }
}

/// An error with a stable [`Code`] and an actionable message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardError {
  pub code: Code,
  pub message: String,
}

impl GuardError {
  pub fn new(code: Code, message: impl Into<String>) -> Self {
    GuardError { code, message: message.into() }
  }
}

impl fmt::Display for GuardError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}: {}", self.code.as_str(), self.message)
  }
}

impl std::error::Error for GuardError {}

pub type GuardResult<T> = Result<T, GuardError>;
