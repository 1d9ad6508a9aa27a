//! The launcher's one error type.

use cryptoserve_testkit::TestkitError;

/// Everything that can go wrong while starting, changing or stopping a cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// PostgreSQL, Redis or nginx could not be started, reloaded or stopped.
    #[error(transparent)]
    Testkit(#[from] TestkitError),
    /// A file or process operation failed.
    #[error("i/o error while {context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A helper command (`cryptoserve migrate`, `kill`, ...) exited unsuccessfully.
    #[error("`{command}` failed ({status}): {output}")]
    CommandFailed {
        /// The command line, without secrets (they travel in the environment).
        command: String,
        /// How it exited.
        status: String,
        /// Its stderr (and stdout when useful).
        output: String,
    },
    /// A backend exited or never answered `/health/ready` with 200.
    #[error("backend {index} did not become ready: {detail}")]
    BackendNotReady {
        /// Index of the backend in the cluster.
        index: usize,
        /// What we saw, including the end of its log.
        detail: String,
    },
    /// A method was called with a backend index the cluster never had.
    #[error("there is no backend {0}")]
    NoSuchBackend(usize),
    /// The options or the state file make no sense.
    #[error("{0}")]
    Invalid(String),
}

/// Crate result alias.
pub type Result<T> = std::result::Result<T, ClusterError>;

/// Maps an `io::Error` to [`ClusterError::Io`] with a description of what we were doing.
pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
    let context = context.into();
    move |source| ClusterError::Io { context, source }
}
