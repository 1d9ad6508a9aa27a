//! The TLS settings: the explicit switch, the files, and the one decision of how the main
//! listener serves ([`Settings::tls_mode`]).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::settings::{Environment, Settings};
use super::ConfigError;

/// `CRYPTOSERVE_TLS`: the explicit TLS switch. Unset means "TLS when a certificate is
/// configured" (and, in production, a certificate is then required).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsSwitch {
    /// TLS required: a certificate and key must be configured.
    On,
    /// Plain HTTP on purpose (a service mesh or a proxy on the same host terminates TLS).
    Off,
}

/// How the main listener serves, as decided from the TLS settings by [`Settings::tls_mode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS with this certificate and key; client certificates required and verified against
    /// `client_ca` when set.
    On {
        /// PEM certificate chain, leaf first.
        cert: PathBuf,
        /// PEM private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
        /// PEM bundle of the CAs whose client certificates are accepted (mutual TLS).
        client_ca: Option<PathBuf>,
    },
    /// Plain HTTP: chosen with `CRYPTOSERVE_TLS=off`, or no certificate in development.
    Off {
        /// True when `CRYPTOSERVE_TLS=off` was set (rather than TLS simply not configured).
        explicit: bool,
    },
}

impl Settings {
    /// TLS settings that contradict each other are refused whatever the command.
    pub(super) fn check_tls(&self) -> Result<(), ConfigError> {
        let invalid = |name: &'static str, problem: &str| {
            Err(ConfigError::Invalid {
                name,
                problem: problem.to_owned(),
            })
        };
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => {
                return invalid(
                    "CRYPTOSERVE_TLS_KEY",
                    "must be set with CRYPTOSERVE_TLS_CERT",
                )
            }
            (None, Some(_)) => {
                return invalid(
                    "CRYPTOSERVE_TLS_CERT",
                    "must be set with CRYPTOSERVE_TLS_KEY",
                )
            }
            _ => {}
        }
        match self.tls {
            Some(TlsSwitch::Off) if self.tls_cert.is_some() || self.tls_client_ca.is_some() => invalid(
                "CRYPTOSERVE_TLS",
                "is off, but CRYPTOSERVE_TLS_CERT or CRYPTOSERVE_TLS_CLIENT_CA is set; unset one or the other",
            ),
            Some(TlsSwitch::On) if self.tls_cert.is_none() => invalid(
                "CRYPTOSERVE_TLS_CERT",
                "must be set (with CRYPTOSERVE_TLS_KEY) when CRYPTOSERVE_TLS=on",
            ),
            _ if self.tls_client_ca.is_some() && self.tls_cert.is_none() => invalid(
                "CRYPTOSERVE_TLS_CLIENT_CA",
                "needs CRYPTOSERVE_TLS_CERT and CRYPTOSERVE_TLS_KEY: client certificates are part of TLS",
            ),
            _ => Ok(()),
        }
    }

    /// How the main listener serves. Production refuses plain HTTP unless it was chosen
    /// explicitly with `CRYPTOSERVE_TLS=off`; development serves plain HTTP when no
    /// certificate is configured, so the one-command start stays one command.
    pub fn tls_mode(&self) -> Result<TlsMode, ConfigError> {
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            return Ok(TlsMode::On {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: self.tls_client_ca.clone(),
            });
        }
        let explicit = self.tls == Some(TlsSwitch::Off);
        if self.env == Environment::Production && !explicit {
            return Err(ConfigError::Invalid {
                name: "CRYPTOSERVE_TLS_CERT",
                problem: "production serves TLS only: set CRYPTOSERVE_TLS_CERT and \
                          CRYPTOSERVE_TLS_KEY (`cryptoserve tls dev-cert` writes a development \
                          pair), or set CRYPTOSERVE_TLS=off when a service mesh or a proxy on \
                          the same host terminates TLS"
                    .into(),
            });
        }
        Ok(TlsMode::Off { explicit })
    }

    /// How often the certificate files are checked for changes; `None`: SIGHUP only.
    pub fn tls_reload_interval(&self) -> Option<Duration> {
        (self.tls_reload_interval > 0).then(|| Duration::from_secs(self.tls_reload_interval))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load_from(None, |name| map.get(name).cloned())
    }

    const PAIR: [(&str, &str); 2] = [
        ("CRYPTOSERVE_TLS_CERT", "/tls/server.crt"),
        ("CRYPTOSERVE_TLS_KEY", "/tls/server.key"),
    ];

    #[test]
    fn development_without_a_certificate_serves_plain_http() {
        let settings = load(&[]).unwrap();
        assert_eq!(
            settings.tls_mode().unwrap(),
            TlsMode::Off { explicit: false }
        );
        assert_eq!(
            settings.tls_reload_interval(),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn production_refuses_plain_http_unless_told_explicitly() {
        let error = load(&[("CRYPTOSERVE_ENV", "production")])
            .unwrap()
            .tls_mode()
            .unwrap_err()
            .to_string();
        assert!(error.contains("CRYPTOSERVE_TLS=off"), "{error}");
        let off = load(&[
            ("CRYPTOSERVE_ENV", "production"),
            ("CRYPTOSERVE_TLS", "off"),
        ])
        .unwrap();
        assert_eq!(off.tls_mode().unwrap(), TlsMode::Off { explicit: true });
        let mut vars = PAIR.to_vec();
        vars.push(("CRYPTOSERVE_ENV", "production"));
        vars.push(("CRYPTOSERVE_TLS_CLIENT_CA", "/tls/ca.crt"));
        assert_eq!(
            load(&vars).unwrap().tls_mode().unwrap(),
            TlsMode::On {
                cert: "/tls/server.crt".into(),
                key: "/tls/server.key".into(),
                client_ca: Some("/tls/ca.crt".into()),
            }
        );
    }

    #[test]
    fn contradictions_are_refused_whatever_the_command() {
        for vars in [
            vec![("CRYPTOSERVE_TLS_CERT", "/a.crt")],
            vec![("CRYPTOSERVE_TLS_KEY", "/a.key")],
            vec![("CRYPTOSERVE_TLS", "on")],
            vec![("CRYPTOSERVE_TLS_CLIENT_CA", "/ca.crt")],
            vec![PAIR[0], PAIR[1], ("CRYPTOSERVE_TLS", "off")],
            vec![("CRYPTOSERVE_TLS", "maybe")],
        ] {
            assert!(load(&vars).is_err(), "{vars:?} should be refused");
        }
        let zero = load(&[("CRYPTOSERVE_TLS_RELOAD_INTERVAL", "0")]).unwrap();
        assert_eq!(zero.tls_reload_interval(), None);
    }
}
