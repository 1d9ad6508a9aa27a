//! Changing the servers' environment on a live cluster the way an operator rotating a secret
//! does: change the environment every new process gets, then restart the backends one at a
//! time (a rolling restart) while nginx keeps serving from the others.

use std::process::ExitStatus;

use secrecy::SecretString;

use super::Cluster;
use crate::error::Result;

impl Cluster {
    /// Sets `name=value` for every server process started from now on: restarted and added
    /// backends and one-shot commands. Running backends keep their environment until
    /// restarted ([`Cluster::roll_backend`]). Applied after the generated secrets, so
    /// `JWT_SECRET_KEY` here replaces the generated one (a secret rotation).
    pub fn set_server_env(&mut self, name: &str, value: &str) {
        self.remove_server_env(name);
        self.env.vars.push((name.to_owned(), value.to_owned()));
    }

    /// Undoes [`Cluster::set_server_env`] (or `ClusterOptions::extra_env`) for `name`: new
    /// processes no longer get it, or get the generated value again for a secret.
    pub fn remove_server_env(&mut self, name: &str) {
        self.env.vars.retain(|(existing, _)| existing != name);
    }

    /// The value a server process started now gets for `name`, secrets included (so a test
    /// can put the current `JWT_SECRET_KEY` into `JWT_PREVIOUS_SECRET_KEYS`). Prints as
    /// `[REDACTED]`.
    pub fn server_env(&self, name: &str) -> Option<SecretString> {
        let set = self
            .env
            .vars
            .iter()
            .rev()
            .find(|(existing, _)| existing == name)
            .map(|(_, value)| value.as_str());
        let secret = || {
            self.env
                .secrets
                .env()
                .into_iter()
                .find(|(secret, _)| *secret == name)
                .map(|(_, value)| value)
        };
        set.or_else(secret)
            .map(|value| SecretString::from(value.to_owned()))
    }

    /// One step of a rolling restart: SIGTERM backend `index`, wait for its drain, and start
    /// it again on the same ports with the current environment, waiting until it is ready.
    /// nginx keeps it in its pool throughout and sends its requests to the others while it
    /// is down. nginx then leaves it out for `fail_timeout` (10 s) although it is back: wait
    /// until it serves requests again before rolling the next one.
    pub fn roll_backend(&mut self, index: usize) -> Result<ExitStatus> {
        let status = self.terminate_backend(index)?;
        self.restart_backend(index)?;
        Ok(status)
    }

    /// Runs a one-shot `cryptoserve <args>` (for example `identity create`) with the current
    /// environment and returns its stdout.
    pub fn run_server_command(&self, args: &[&str]) -> Result<String> {
        self.env.run(args)
    }
}
