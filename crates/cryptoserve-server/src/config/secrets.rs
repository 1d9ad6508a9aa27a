//! Turning configured secrets into usable keys.
//!
//! In `production` every secret must be set explicitly. In `development`, missing secrets are
//! generated once into the data directory (files mode 0600) and reused on restart, so data
//! stays decryptable, with a loud warning that they are development secrets.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use cryptoserve_core::{Keyring, MasterKey, Salt};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::settings::{Environment, Settings};
use super::ConfigError;

const MIN_JWT_SECRET_LEN: usize = 32;
const MIN_SALT_LEN: usize = 16;

/// Fresh values for `cryptoserve keygen` and development defaults.
#[derive(Debug)]
pub struct GeneratedSecrets {
    /// 64 hex characters.
    pub master_key: Zeroizing<String>,
    /// 64 random bytes, base64url.
    pub jwt_secret: Zeroizing<String>,
    /// 32 hex characters.
    pub hkdf_salt: String,
}

/// Generates a complete, independent set of secrets.
pub fn generate() -> Result<GeneratedSecrets, ConfigError> {
    let random = |len: usize| -> Result<Zeroizing<Vec<u8>>, ConfigError> {
        let mut bytes = Zeroizing::new(vec![0u8; len]);
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).map_err(
            |_| ConfigError::Invalid {
                name: "random",
                problem: "the system random number generator failed".into(),
            },
        )?;
        Ok(bytes)
    };
    let master = MasterKey::generate().map_err(|e| ConfigError::Invalid {
        name: "CRYPTOSERVE_MASTER_KEY",
        problem: e.to_string(),
    })?;
    use base64::Engine;
    Ok(GeneratedSecrets {
        master_key: master.to_hex(),
        jwt_secret: Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random(48)?.as_slice()),
        ),
        hkdf_salt: hex::encode(random(16)?.as_slice()),
    })
}

/// The secrets a running server uses, parsed and validated.
pub struct ResolvedSecrets {
    /// Active and previous master keys.
    pub keyring: Keyring,
    /// HKDF salt.
    pub salt: Salt,
    /// HS256 secret.
    pub jwt_secret: Zeroizing<Vec<u8>>,
    /// Previous HS256 secrets (`JWT_PREVIOUS_SECRET_KEYS`): verify only, never sign.
    pub previous_jwt_secrets: Vec<Zeroizing<Vec<u8>>>,
    /// Database URL (may contain a password).
    pub database_url: SecretString,
    /// Warnings to print loudly at start (development defaults in use).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for ResolvedSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedSecrets")
            .field("master_key_id", &self.keyring.active().id())
            .field("salt", &self.salt)
            .field("jwt_secret", &"[redacted]")
            .field(
                "previous_jwt_secrets",
                &format_args!("[{} redacted]", self.previous_jwt_secrets.len()),
            )
            .finish_non_exhaustive()
    }
}

/// Resolves every secret for `settings`, generating development ones if allowed.
pub fn resolve(settings: &Settings) -> Result<ResolvedSecrets, ConfigError> {
    let development = settings.env == Environment::Development;
    let mut warnings = Vec::new();
    let dev = DevFiles::new(&settings.data_dir);

    let master_text = match (&settings.master_key, development) {
        (Some(value), _) => Zeroizing::new(value.expose_secret().to_owned()),
        (None, true) => {
            warnings.push(format!(
                "CRYPTOSERVE_MASTER_KEY is not set: using the DEVELOPMENT master key in {}",
                dev.path("master.key").display()
            ));
            dev.read_or_create("master.key", |g| g.master_key.to_string())?
        }
        (None, false) => {
            return Err(ConfigError::MissingSecret {
                name: "CRYPTOSERVE_MASTER_KEY",
            })
        }
    };
    let master = MasterKey::from_hex(&master_text).map_err(|e| ConfigError::Invalid {
        name: "CRYPTOSERVE_MASTER_KEY",
        problem: e.to_string(),
    })?;
    let mut keyring = Keyring::new(master);
    for previous in &settings.previous_master_keys {
        let key =
            MasterKey::from_hex(previous.expose_secret()).map_err(|e| ConfigError::Invalid {
                name: "CRYPTOSERVE_PREVIOUS_MASTER_KEYS",
                problem: e.to_string(),
            })?;
        keyring = keyring.with_previous(key);
    }

    let jwt_text = match (&settings.jwt_secret_key, development) {
        (Some(value), _) => Zeroizing::new(value.expose_secret().to_owned()),
        (None, true) => {
            warnings.push(format!(
                "JWT_SECRET_KEY is not set: using the DEVELOPMENT JWT secret in {}",
                dev.path("jwt.secret").display()
            ));
            dev.read_or_create("jwt.secret", |g| g.jwt_secret.to_string())?
        }
        (None, false) => {
            return Err(ConfigError::MissingSecret {
                name: "JWT_SECRET_KEY",
            })
        }
    };
    if jwt_text.trim().len() < MIN_JWT_SECRET_LEN {
        return Err(ConfigError::Invalid {
            name: "JWT_SECRET_KEY",
            problem: format!(
                "too short: use at least {MIN_JWT_SECRET_LEN} random characters \
                 (`cryptoserve keygen` prints one)"
            ),
        });
    }

    let previous_jwt_secrets = previous_jwt_secrets(settings)?;

    let salt_text = match (&settings.hkdf_salt, development) {
        (Some(value), _) => Zeroizing::new(value.expose_secret().to_owned()),
        (None, true) => {
            warnings.push(format!(
                "HKDF_SALT is not set: using the DEVELOPMENT salt in {}",
                dev.path("hkdf.salt").display()
            ));
            dev.read_or_create("hkdf.salt", |g| g.hkdf_salt.clone())?
        }
        (None, false) => return Err(ConfigError::MissingSecret { name: "HKDF_SALT" }),
    };
    if salt_text.trim().len() < MIN_SALT_LEN {
        return Err(ConfigError::Invalid {
            name: "HKDF_SALT",
            problem: format!(
                "too short: use at least {MIN_SALT_LEN} characters, unique to this deployment \
                 (`cryptoserve keygen` prints one)"
            ),
        });
    }
    let salt = Salt::new(salt_text.trim()).map_err(|e| ConfigError::Invalid {
        name: "HKDF_SALT",
        problem: e.to_string(),
    })?;

    let database_url = match &settings.database_url {
        Some(url) => url.clone(),
        None => {
            dev.ensure_dir()?;
            let path = dev.path("cryptoserve.db");
            SecretString::from(format!("sqlite://{}?mode=rwc", path.display()))
        }
    };

    Ok(ResolvedSecrets {
        keyring,
        salt,
        jwt_secret: Zeroizing::new(jwt_text.trim().as_bytes().to_vec()),
        previous_jwt_secrets,
        database_url,
        warnings,
    })
}

/// `JWT_PREVIOUS_SECRET_KEYS`, each held to the same length rule as `JWT_SECRET_KEY` (a short
/// previous secret would make forging old-looking tokens easy). The message names the variable
/// and the position, never the value.
fn previous_jwt_secrets(settings: &Settings) -> Result<Vec<Zeroizing<Vec<u8>>>, ConfigError> {
    settings
        .jwt_previous_secret_keys
        .iter()
        .enumerate()
        .map(|(index, previous)| {
            let text = previous.expose_secret().trim();
            if text.len() < MIN_JWT_SECRET_LEN {
                return Err(ConfigError::Invalid {
                    name: "JWT_PREVIOUS_SECRET_KEYS",
                    problem: format!(
                        "entry {} is too short: previous secrets are former JWT_SECRET_KEY \
                         values of at least {MIN_JWT_SECRET_LEN} characters",
                        index + 1
                    ),
                });
            }
            Ok(Zeroizing::new(text.as_bytes().to_vec()))
        })
        .collect()
}

/// The development secret files in the data directory.
struct DevFiles {
    dir: PathBuf,
}

impl DevFiles {
    fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn io(&self, path: &Path) -> impl FnOnce(std::io::Error) -> ConfigError {
        let path = path.display().to_string();
        move |source| ConfigError::DataDir { path, source }
    }

    fn ensure_dir(&self) -> Result<(), ConfigError> {
        fs::create_dir_all(&self.dir).map_err(self.io(&self.dir))?;
        set_mode(&self.dir, 0o700).map_err(self.io(&self.dir))
    }

    /// Reads the file, or creates it (mode 0600) from freshly generated secrets.
    fn read_or_create(
        &self,
        name: &str,
        pick: impl FnOnce(&GeneratedSecrets) -> String,
    ) -> Result<Zeroizing<String>, ConfigError> {
        let path = self.path(name);
        if path.exists() {
            let text = fs::read_to_string(&path).map_err(self.io(&path))?;
            return Ok(Zeroizing::new(text.trim().to_owned()));
        }
        self.ensure_dir()?;
        let value = Zeroizing::new(pick(&generate()?));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).map_err(self.io(&path))?;
        file.write_all(value.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .map_err(self.io(&path))?;
        Ok(value)
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(previous: &[&str]) -> Settings {
        let generated = generate().unwrap();
        let mut settings = Settings::load_from(None, |_| None).unwrap();
        settings.master_key = Some(SecretString::from(generated.master_key.to_string()));
        settings.jwt_secret_key = Some(SecretString::from(generated.jwt_secret.to_string()));
        settings.hkdf_salt = Some(SecretString::from(generated.hkdf_salt.clone()));
        settings.database_url = Some(SecretString::from("sqlite::memory:"));
        settings.jwt_previous_secret_keys = previous
            .iter()
            .map(|value| SecretString::from(value.to_string()))
            .collect();
        settings
    }

    #[test]
    fn previous_jwt_secrets_are_resolved_checked_and_redacted() {
        let old = "an-old-jwt-secret-of-at-least-32-characters";
        let resolved = resolve(&settings(&[old])).unwrap();
        assert_eq!(resolved.previous_jwt_secrets.len(), 1);
        assert_eq!(resolved.previous_jwt_secrets[0].as_slice(), old.as_bytes());
        let debug = format!("{resolved:?}");
        assert!(!debug.contains(old), "{debug}");
        assert!(debug.contains("[1 redacted]"), "{debug}");
        assert!(resolve(&settings(&[]))
            .unwrap()
            .previous_jwt_secrets
            .is_empty());

        let error = resolve(&settings(&[old, "tiny-secret"]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("JWT_PREVIOUS_SECRET_KEYS"), "{error}");
        assert!(error.contains("entry 2"), "{error}");
        assert!(!error.contains("tiny-secret"), "{error}");
    }
}
