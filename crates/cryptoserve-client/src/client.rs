//! [`Client`] and [`ClientBuilder`]: configuration in, a cheap-to-clone handle out.

use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;

use crate::config::{self, Explicit};
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;

/// Per-request timeout unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed to open a connection before the next address is tried.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A CryptoServe client: one typed async method per endpoint of the native API.
///
/// Cloning is cheap and shares the connection pool and the memory of which address answered
/// last. See the [crate documentation](crate) for configuration, retries and errors.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) addresses: Vec<Url>,
    pub(crate) token: Option<SecretString>,
    pub(crate) retry: RetryPolicy,
    /// Index of the address that answered last; the next call starts there.
    pub(crate) last_good: AtomicUsize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let addresses: Vec<&str> = self.inner.addresses.iter().map(Url::as_str).collect();
        f.debug_struct("Client")
            .field("addresses", &addresses)
            .field("token", &self.inner.token.as_ref().map(|_| "[redacted]"))
            .field("retry", &self.inner.retry)
            .finish()
    }
}

impl Client {
    /// A builder; nothing is read until [`ClientBuilder::build`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment and the profile file alone.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    /// The base addresses, in failover order.
    pub fn addresses(&self) -> &[Url] {
        &self.inner.addresses
    }
}

/// Configures a [`Client`]. Explicit settings win over `CRYPTOSERVE_*` environment variables,
/// which win over the profile file (see [`crate::config`]).
#[derive(Default)]
pub struct ClientBuilder {
    explicit: Explicit,
    ignore_environment: bool,
    connect_timeout: Option<Duration>,
    retry: RetryPolicy,
    root_certificates: Vec<reqwest::Certificate>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("addresses", &self.explicit.addresses)
            .field("token", &self.explicit.token.as_ref().map(|_| "[redacted]"))
            .field("token_file", &self.explicit.token_file)
            .field("profile", &self.explicit.profile)
            .field("tls", &self.explicit.tls)
            .field("ignore_environment", &self.ignore_environment)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Adds a base URL (`http://127.0.0.1:8003`); several are tried in order on failure.
    pub fn address(mut self, url: impl Into<String>) -> Self {
        self.explicit
            .addresses
            .get_or_insert_with(Vec::new)
            .push(url.into());
        self
    }

    /// Sets every base URL at once.
    pub fn addresses<I, S>(mut self, urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.explicit.addresses = Some(urls.into_iter().map(Into::into).collect());
        self
    }

    /// The bearer token (kept in a zeroizing [`SecretString`], never printed).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.explicit.token = Some(SecretString::from(token.into()));
        self
    }

    /// Reads the bearer token from a file (surrounding whitespace is ignored).
    pub fn token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.explicit.token_file = Some(path.into());
        self
    }

    /// Uses `[profiles.<name>]` of the config file (which must exist).
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.explicit.profile = Some(name.into());
        self
    }

    /// Reads `config.toml` from `dir` instead of `~/.config/cryptoserve`.
    pub fn config_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.explicit.config_dir = Some(dir.into());
        self
    }

    /// Ignores `CRYPTOSERVE_*` variables and the default config directory: only what the
    /// builder is told counts (tests, embedding).
    pub fn ignore_environment(mut self) -> Self {
        self.ignore_environment = true;
        self
    }

    /// Whole-request timeout per attempt (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.explicit.timeout = Some(timeout);
        self
    }

    /// Time to open a connection before moving on to the next address (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long rate-limited calls wait (default: up to 3 waits of up to 10 s).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Trusts only the CA certificates in this PEM file (a bundle is fine), not the built-in
    /// roots, like `curl --cacert`: the servers' certificates must chain to one of them.
    /// Overrides `CRYPTOSERVE_CACERT` and the profile's `cacert`.
    pub fn ca_cert_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.explicit.tls.ca_cert = Some(path.into());
        self
    }

    /// Presents this PEM certificate (chain allowed) when a server asks for one (mutual
    /// TLS); needs [`ClientBuilder::client_key_file`] or `CRYPTOSERVE_CLIENT_KEY`. Overrides
    /// `CRYPTOSERVE_CLIENT_CERT` and the profile's `client_cert`.
    pub fn client_cert_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.explicit.tls.client_cert = Some(path.into());
        self
    }

    /// The PEM private key (PKCS#8, SEC1 or PKCS#1) of the client certificate. Overrides
    /// `CRYPTOSERVE_CLIENT_KEY` and the profile's `client_key`.
    pub fn client_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.explicit.tls.client_key = Some(path.into());
        self
    }

    /// Trusts an extra CA (PEM), e.g. a private one the servers' certificates chain to, in
    /// addition to the built-in roots or the CA file.
    pub fn root_certificate_pem(mut self, pem: &[u8]) -> Result<Self> {
        let certificate = reqwest::Certificate::from_pem(pem)
            .map_err(|error| Error::Config(format!("CA certificate: {error}")))?;
        self.root_certificates.push(certificate);
        Ok(self)
    }

    /// Resolves the configuration and builds the client. Fails with [`Error::Config`] when
    /// there is no address or a file cannot be read, and with [`Error::TlsFile`] when a CA,
    /// certificate or key file is unreadable, not PEM, or the key does not match the
    /// certificate; nothing is sent.
    pub fn build(self) -> Result<Client> {
        let ignore = self.ignore_environment;
        let env = move |name: &str| {
            if ignore {
                None
            } else {
                std::env::var(name).ok()
            }
        };
        let resolved = config::resolve(self.explicit, &env)?;
        let mut http = reqwest::Client::builder()
            .timeout(resolved.timeout.unwrap_or(DEFAULT_TIMEOUT))
            .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
            .user_agent(concat!("cryptoserve-client/", env!("CARGO_PKG_VERSION")));
        http = resolved.tls.apply(http)?;
        for certificate in self.root_certificates {
            http = http.add_root_certificate(certificate);
        }
        let http = http
            .build()
            .map_err(|error| Error::Config(format!("HTTP client: {error}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                addresses: resolved.addresses,
                token: resolved.token,
                retry: self.retry,
                last_good: AtomicUsize::new(0),
            }),
        })
    }
}
