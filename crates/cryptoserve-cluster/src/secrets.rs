//! The three secrets every instance must share, generated once per cluster with
//! `cryptoserve keygen` (so the launcher never has its own idea of what a valid key is).

use std::path::Path;
use std::process::Command;

use secrecy::{ExposeSecret, SecretString};

use crate::error::{io_err, ClusterError, Result};

/// Master key, JWT secret and HKDF salt; print as `[redacted]`.
#[derive(Debug, Clone)]
pub struct Secrets {
    /// `CRYPTOSERVE_MASTER_KEY`: 64 hex digits.
    master_key: SecretString,
    /// `JWT_SECRET_KEY`: signs identity tokens.
    jwt_secret: SecretString,
    /// `HKDF_SALT`: mixes into every derived context key.
    hkdf_salt: SecretString,
}

impl Secrets {
    /// Runs `<server_binary> keygen` and parses its `NAME=value` lines.
    pub fn generate(server_binary: &Path) -> Result<Secrets> {
        let output = Command::new(server_binary)
            .arg("keygen")
            .output()
            .map_err(io_err(format!(
                "running {} keygen",
                server_binary.display()
            )))?;
        if !output.status.success() {
            return Err(ClusterError::CommandFailed {
                command: format!("{} keygen", server_binary.display()),
                status: output.status.to_string(),
                output: String::from_utf8_lossy(&output.stderr).into_owned(),
            });
        }
        Self::parse(&String::from_utf8_lossy(&output.stdout))
    }

    /// Parses `keygen` output; every one of the three names must be present.
    fn parse(text: &str) -> Result<Secrets> {
        let value = |name: &str| {
            text.lines()
                .filter_map(|line| line.split_once('='))
                .find(|(key, _)| key.trim() == name)
                .map(|(_, value)| SecretString::from(value.trim().to_owned()))
                .ok_or_else(|| ClusterError::Invalid(format!("`keygen` printed no {name}")))
        };
        Ok(Secrets {
            master_key: value("CRYPTOSERVE_MASTER_KEY")?,
            jwt_secret: value("JWT_SECRET_KEY")?,
            hkdf_salt: value("HKDF_SALT")?,
        })
    }

    /// The environment variables that carry the secrets to a server process.
    pub(crate) fn env(&self) -> [(&'static str, &str); 3] {
        [
            ("CRYPTOSERVE_MASTER_KEY", self.master_key.expose_secret()),
            ("JWT_SECRET_KEY", self.jwt_secret.expose_secret()),
            ("HKDF_SALT", self.hkdf_salt.expose_secret()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::Secrets;

    #[test]
    fn parses_keygen_output_and_redacts_it() -> crate::Result<()> {
        let secrets = Secrets::parse(
            "CRYPTOSERVE_MASTER_KEY=00ff\nJWT_SECRET_KEY=jwt-secret\nHKDF_SALT=salty\n",
        )?;
        assert_eq!(secrets.env()[1], ("JWT_SECRET_KEY", "jwt-secret"));
        assert!(!format!("{secrets:?}").contains("jwt-secret"));
        Ok(())
    }

    #[test]
    fn missing_name_is_an_error() {
        assert!(Secrets::parse("CRYPTOSERVE_MASTER_KEY=00ff\n").is_err());
    }
}
