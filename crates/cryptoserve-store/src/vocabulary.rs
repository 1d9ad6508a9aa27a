//! The closed sets of values stored as text columns (algorithms, statuses, roles, rate-limit
//! scopes). Each is an enum so invalid values cannot be written, and reading an unknown value
//! back is reported as [`StoreError::Corrupt`] instead of being passed along.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};

/// Declares a text-backed enum with `as_str`, `parse` and serde using the same spellings.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// The spelling stored in the database and used in the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parses the stored spelling.
            pub fn parse(text: &str) -> Result<Self> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(StoreError::Corrupt(format!(
                        "unknown {} `{other}`",
                        stringify!($name)
                    ))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// The AEAD a context encrypts with.
    Algorithm {
        /// AES-256 in Galois/Counter Mode.
        Aes256Gcm = "aes-256-gcm",
        /// ChaCha20-Poly1305 (RFC 8439).
        ChaCha20Poly1305 = "chacha20-poly1305",
    }
}

text_enum! {
    /// What a key version may still be used for.
    KeyStatus {
        /// The current version: encrypts and decrypts.
        Active = "active",
        /// An older version still accepted for decryption.
        DecryptOnly = "decrypt_only",
        /// Below the context's minimum: refused.
        Retired = "retired",
    }
}

text_enum! {
    /// What an identity may do.
    Role {
        /// Manages contexts, identities and policies.
        Admin = "admin",
        /// Encrypts and decrypts in its allowed contexts.
        Service = "service",
    }
}

text_enum! {
    /// Which requests a rate-limit policy applies to.
    RateLimitScope {
        /// The fallback for everything.
        Default = "default",
        /// One context (the policy key is its name).
        Context = "context",
        /// One identity (the policy key is its id).
        Identity = "identity",
    }
}

text_enum! {
    /// What a rate-limit bucket is keyed by.
    RateLimitDimension {
        /// Client IP address.
        Ip = "ip",
        /// Calling identity.
        Identity = "identity",
        /// Target context.
        Context = "context",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_and_unknown_values_are_corrupt() {
        for status in [
            KeyStatus::Active,
            KeyStatus::DecryptOnly,
            KeyStatus::Retired,
        ] {
            assert_eq!(KeyStatus::parse(status.as_str()).unwrap(), status);
        }
        assert_eq!(
            serde_json::to_string(&Algorithm::ChaCha20Poly1305).unwrap(),
            "\"chacha20-poly1305\""
        );
        assert!(matches!(Role::parse("root"), Err(StoreError::Corrupt(_))));
    }
}
