//! Where a client's addresses, token, TLS files and timeout come from, in order: explicit
//! builder arguments, then the environment (`CRYPTOSERVE_ADDR`, `CRYPTOSERVE_TOKEN`,
//! `CRYPTOSERVE_TOKEN_FILE`, `CRYPTOSERVE_CACERT`, `CRYPTOSERVE_CLIENT_CERT`,
//! `CRYPTOSERVE_CLIENT_KEY`, `CRYPTOSERVE_PROFILE`), then a profile in
//! `~/.config/cryptoserve/config.toml` (or `$XDG_CONFIG_HOME/cryptoserve/`):
//!
//! ```toml
//! [profiles.default]
//! addr = ["https://cs-1.internal:8003", "https://cs-2.internal:8003"]
//! token_file = "ops.token"          # relative to the config directory; or token = "..."
//! cacert = "ca.crt"                 # trust only this CA (PEM bundle), like curl --cacert
//! client_cert = "client.crt"        # mutual TLS: this certificate (PEM, chain allowed)
//! client_key = "client.key"         # and its private key (PEM)
//! timeout_secs = 10
//! ```
//!
//! Each TLS file is resolved on its own (a flag for the certificate and the environment for
//! the key is fine), but a client certificate needs its key and the other way round.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::tls::TlsFiles;

/// Comma-separated base URLs.
pub const ENV_ADDR: &str = "CRYPTOSERVE_ADDR";
/// The bearer token itself.
pub const ENV_TOKEN: &str = "CRYPTOSERVE_TOKEN";
/// A file holding the bearer token.
pub const ENV_TOKEN_FILE: &str = "CRYPTOSERVE_TOKEN_FILE";
/// A PEM file of CA certificates: when set, the only CAs trusted (the built-in roots are not).
pub const ENV_CACERT: &str = "CRYPTOSERVE_CACERT";
/// A PEM client certificate (chain allowed) for mutual TLS; needs [`ENV_CLIENT_KEY`].
pub const ENV_CLIENT_CERT: &str = "CRYPTOSERVE_CLIENT_CERT";
/// The PEM private key of [`ENV_CLIENT_CERT`] (PKCS#8, SEC1 or PKCS#1).
pub const ENV_CLIENT_KEY: &str = "CRYPTOSERVE_CLIENT_KEY";
/// Which profile of the config file to use (default `default`).
pub const ENV_PROFILE: &str = "CRYPTOSERVE_PROFILE";
/// The directory holding `config.toml` (default `~/.config/cryptoserve`).
pub const ENV_CONFIG_DIR: &str = "CRYPTOSERVE_CONFIG_DIR";
/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";

/// `config.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// One `[profiles.<name>]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Profile {
    /// One base URL or a list.
    addr: Option<Addresses>,
    /// The token itself (prefer `token_file`).
    token: Option<SecretString>,
    /// A file holding the token, relative to the config directory.
    token_file: Option<PathBuf>,
    /// Per-request timeout.
    timeout_secs: Option<u64>,
    /// CA bundle to trust instead of the built-in roots, relative to the config directory.
    cacert: Option<PathBuf>,
    /// Client certificate for mutual TLS, relative to the config directory.
    client_cert: Option<PathBuf>,
    /// Its private key, relative to the config directory.
    client_key: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Addresses {
    One(String),
    Many(Vec<String>),
}

/// What the builder was told explicitly.
#[derive(Debug, Default)]
pub(crate) struct Explicit {
    pub addresses: Option<Vec<String>>,
    pub token: Option<SecretString>,
    pub token_file: Option<PathBuf>,
    pub profile: Option<String>,
    pub config_dir: Option<PathBuf>,
    pub timeout: Option<Duration>,
    pub tls: TlsFiles,
}

/// The outcome of resolution.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub addresses: Vec<Url>,
    pub token: Option<SecretString>,
    pub timeout: Option<Duration>,
    pub tls: TlsFiles,
}

/// Resolves `explicit` over the environment (read through `env`) over the profile file.
pub(crate) fn resolve(
    explicit: Explicit,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Resolved> {
    let var = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    let named_profile = explicit.profile.clone().or_else(|| var(ENV_PROFILE));
    let config_dir = explicit
        .config_dir
        .clone()
        .or_else(|| var(ENV_CONFIG_DIR).map(PathBuf::from))
        .or_else(|| default_config_dir(&var));
    let profile = match &config_dir {
        Some(dir) => load_profile(dir, named_profile.as_deref())?,
        None if named_profile.is_some() => {
            return Err(Error::Config(
                "a profile was named but there is no config directory (set HOME or \
                 CRYPTOSERVE_CONFIG_DIR)"
                    .into(),
            ))
        }
        None => Profile::default(),
    };
    // Files named in the profile are relative to the config directory.
    let base = config_dir.unwrap_or_default();

    let addresses = match (explicit.addresses, var(ENV_ADDR), profile.addr) {
        (Some(list), _, _) => list,
        (None, Some(text), _) => text.split(',').map(str::to_owned).collect(),
        (None, None, Some(Addresses::One(one))) => vec![one],
        (None, None, Some(Addresses::Many(many))) => many,
        (None, None, None) => Vec::new(),
    };
    let addresses = parse_addresses(&addresses)?;

    let token = if let Some(token) = explicit.token {
        Some(token)
    } else if let Some(path) = explicit.token_file {
        Some(read_token(&path)?)
    } else if let Some(token) = var(ENV_TOKEN) {
        Some(SecretString::from(token.trim().to_owned()))
    } else if let Some(path) = var(ENV_TOKEN_FILE) {
        Some(read_token(Path::new(&path))?)
    } else if let Some(token) = profile.token {
        Some(token)
    } else if let Some(path) = profile.token_file {
        Some(read_token(&base.join(path))?)
    } else {
        None
    };

    let timeout = explicit
        .timeout
        .or(profile.timeout_secs.map(Duration::from_secs));
    let pick = |explicit: Option<PathBuf>, name: &str, file: Option<PathBuf>| {
        explicit
            .or_else(|| var(name).map(PathBuf::from))
            .or_else(|| file.map(|path| base.join(path)))
    };
    let tls = TlsFiles {
        ca_cert: pick(explicit.tls.ca_cert, ENV_CACERT, profile.cacert),
        client_cert: pick(
            explicit.tls.client_cert,
            ENV_CLIENT_CERT,
            profile.client_cert,
        ),
        client_key: pick(explicit.tls.client_key, ENV_CLIENT_KEY, profile.client_key),
    };
    Ok(Resolved {
        addresses,
        token,
        timeout,
        tls,
    })
}

fn default_config_dir(var: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| Path::new(&home).join(".config")))
        .map(|dir| dir.join("cryptoserve"))
}

/// The named profile (which must exist), or `default` if present.
fn load_profile(dir: &Path, name: Option<&str>) -> Result<Profile> {
    let path = dir.join("config.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return match name {
                Some(name) => Err(Error::Config(format!(
                    "profile `{name}` requested but {} does not exist",
                    path.display()
                ))),
                None => Ok(Profile::default()),
            };
        }
        Err(error) => {
            return Err(Error::Config(format!(
                "reading {}: {error}",
                path.display()
            )));
        }
    };
    let mut file: ConfigFile = toml::from_str(&text)
        .map_err(|error| Error::Config(format!("{}: {error}", path.display())))?;
    match name {
        Some(name) => file
            .profiles
            .remove(name)
            .ok_or_else(|| Error::Config(format!("no [profiles.{name}] in {}", path.display()))),
        None => Ok(file.profiles.remove(DEFAULT_PROFILE).unwrap_or_default()),
    }
}

fn read_token(path: &Path) -> Result<SecretString> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|error| {
        Error::Config(format!("reading token file {}: {error}", path.display()))
    })?);
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::Config(format!(
            "token file {} is empty",
            path.display()
        )));
    }
    Ok(SecretString::from(token.to_owned()))
}

/// Base URLs: `http` or `https`, each usable as a base for the API's paths.
pub(crate) fn parse_addresses(list: &[String]) -> Result<Vec<Url>> {
    let mut addresses = Vec::with_capacity(list.len());
    for text in list
        .iter()
        .map(|text| text.trim())
        .filter(|text| !text.is_empty())
    {
        let url = Url::parse(text)
            .map_err(|error| Error::Config(format!("address `{text}`: {error}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(Error::Config(format!(
                "address `{text}` must be an http:// or https:// URL"
            )));
        }
        addresses.push(url);
    }
    if addresses.is_empty() {
        return Err(Error::Config(format!(
            "no CryptoServe address: pass one to the builder, set {ENV_ADDR} (comma-separated), \
             or add `addr` to a profile in ~/.config/cryptoserve/config.toml"
        )));
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use secrecy::ExposeSecret;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn config_dir(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
        std::fs::write(dir.path().join("ops.token"), "file-token\n").unwrap();
        dir
    }

    const FILE: &str = r#"
        [profiles.default]
        addr = "http://file-default:8003"
        token = "default-token"

        [profiles.prod]
        addr = ["https://a:8003", "https://b:8003"]
        token_file = "ops.token"
        timeout_secs = 5
    "#;

    #[test]
    fn builder_wins_over_environment_which_wins_over_the_file() {
        let dir = config_dir(FILE);
        let dir_text = dir.path().to_str().unwrap();
        let env = env_of(&[
            (ENV_CONFIG_DIR, dir_text),
            (ENV_ADDR, "http://env-1:1, http://env-2:2"),
            (ENV_TOKEN, "env-token"),
        ]);
        let from_env = resolve(Explicit::default(), &env).unwrap();
        assert_eq!(from_env.addresses.len(), 2);
        assert_eq!(from_env.addresses[1].as_str(), "http://env-2:2/");
        assert_eq!(from_env.token.unwrap().expose_secret(), "env-token");

        let explicit = Explicit {
            addresses: Some(vec!["http://builder:9".into()]),
            token: Some(SecretString::from("builder-token")),
            ..Explicit::default()
        };
        let from_builder = resolve(explicit, &env).unwrap();
        assert_eq!(from_builder.addresses[0].as_str(), "http://builder:9/");
        assert_eq!(from_builder.token.unwrap().expose_secret(), "builder-token");

        let file_only =
            resolve(Explicit::default(), &env_of(&[(ENV_CONFIG_DIR, dir_text)])).unwrap();
        assert_eq!(file_only.addresses[0].as_str(), "http://file-default:8003/");
        assert_eq!(file_only.token.unwrap().expose_secret(), "default-token");
    }

    #[test]
    fn a_named_profile_reads_its_token_file_and_must_exist() {
        let dir = config_dir(FILE);
        let dir_text = dir.path().to_str().unwrap();
        let env = env_of(&[(ENV_CONFIG_DIR, dir_text), (ENV_PROFILE, "prod")]);
        let prod = resolve(Explicit::default(), &env).unwrap();
        assert_eq!(prod.addresses.len(), 2);
        assert_eq!(prod.token.unwrap().expose_secret(), "file-token");
        assert_eq!(prod.timeout, Some(Duration::from_secs(5)));

        let missing = Explicit {
            profile: Some("staging".into()),
            ..Explicit::default()
        };
        let error = resolve(missing, &env).unwrap_err();
        assert!(error.to_string().contains("profiles.staging"), "{error}");
    }

    #[test]
    fn tls_files_resolve_one_by_one_and_profile_paths_are_relative_to_its_directory() {
        let dir = config_dir(
            "[profiles.default]\naddr = \"https://a:1\"\ncacert = \"ca.crt\"\n\
             client_cert = \"/etc/cs/client.crt\"\nclient_key = \"client.key\"\n",
        );
        let dir_text = dir.path().to_str().unwrap();
        let from_file = resolve(Explicit::default(), &env_of(&[(ENV_CONFIG_DIR, dir_text)]))
            .unwrap()
            .tls;
        assert_eq!(from_file.ca_cert, Some(dir.path().join("ca.crt")));
        assert_eq!(
            from_file.client_cert,
            Some(PathBuf::from("/etc/cs/client.crt"))
        );
        assert_eq!(from_file.client_key, Some(dir.path().join("client.key")));

        let env = env_of(&[
            (ENV_CONFIG_DIR, dir_text),
            (ENV_CACERT, "/env/ca.pem"),
            (ENV_CLIENT_KEY, "/env/client.key"),
        ]);
        let explicit = Explicit {
            tls: TlsFiles {
                ca_cert: Some("flag-ca.pem".into()),
                ..TlsFiles::default()
            },
            ..Explicit::default()
        };
        let mixed = resolve(explicit, &env).unwrap().tls;
        assert_eq!(mixed.ca_cert, Some(PathBuf::from("flag-ca.pem")));
        assert_eq!(mixed.client_cert, Some(PathBuf::from("/etc/cs/client.crt")));
        assert_eq!(mixed.client_key, Some(PathBuf::from("/env/client.key")));
    }

    #[test]
    fn no_address_and_bad_addresses_are_configuration_errors() {
        let empty = tempfile::tempdir().unwrap();
        let env = env_of(&[(ENV_CONFIG_DIR, empty.path().to_str().unwrap())]);
        let error = resolve(Explicit::default(), &env).unwrap_err();
        assert!(error.to_string().contains(ENV_ADDR), "{error}");
        for bad in ["ftp://x", "not a url", "mailto:a@b"] {
            let explicit = Explicit {
                addresses: Some(vec![bad.into()]),
                ..Explicit::default()
            };
            assert!(
                matches!(resolve(explicit, &env), Err(Error::Config(_))),
                "{bad}"
            );
        }
    }
}
