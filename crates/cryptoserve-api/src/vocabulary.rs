//! The closed sets of values the API and the database spell as text (algorithms, key
//! statuses, roles, rate-limit scopes and dimensions). Each is an enum so invalid values
//! cannot be sent or stored; `as_str`, `parse`, `FromStr`, `Display`, serde and the OpenAPI
//! schema all use the same spelling.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Error;

/// Declares a text-backed enum with `as_str`, `parse`, `FromStr`, `Display`, serde and a
/// schema, all using the same spellings. The spellings are `tt`, not `literal`: a `literal`
/// fragment reaches derive macros wrapped in an invisible group, which utoipa does not read
/// as the `rename` string.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:tt,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The spelling stored in the database and used in the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parses the spelling [`Self::as_str`] gives.
            pub fn parse(text: &str) -> Result<Self, Error> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(Error::UnknownValue {
                        kind: stringify!($name),
                        value: other.to_owned(),
                    }),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;

            fn from_str(text: &str) -> Result<Self, Error> {
                Self::parse(text)
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
        /// Manages contexts, identities and policies (and may use every context).
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

text_enum! {
    /// The `{scope}` of override paths.
    OverrideScope {
        /// `context/{name}`.
        Context = "context",
        /// `identity/{id}`.
        Identity = "identity",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn spellings_round_trip_and_unknown_values_are_refused() {
        for status in KeyStatus::ALL {
            assert_eq!(KeyStatus::parse(status.as_str()).unwrap(), *status);
            let json = serde_json::to_string(status).unwrap();
            assert_eq!(json, format!("\"{status}\""));
            assert_eq!(serde_json::from_str::<KeyStatus>(&json).unwrap(), *status);
        }
        assert_eq!(
            serde_json::to_string(&Algorithm::ChaCha20Poly1305).unwrap(),
            "\"chacha20-poly1305\""
        );
        assert_eq!(
            Role::parse("root"),
            Err(Error::UnknownValue {
                kind: "Role",
                value: "root".into()
            })
        );
        assert_eq!(
            "identity".parse::<OverrideScope>().unwrap(),
            OverrideScope::Identity
        );
    }
}
