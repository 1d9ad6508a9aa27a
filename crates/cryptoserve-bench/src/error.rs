//! The benchmark's one error type.

use cryptoserve_cluster::ClusterError;
use cryptoserve_testkit::TestkitError;

/// Everything that can stop a benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A file or process operation failed.
    #[error("i/o error while {context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The cluster launcher could not start or stop the cluster.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// Redis could not be started.
    #[error(transparent)]
    Testkit(#[from] TestkitError),
    /// A setup call to the server failed or answered unexpectedly.
    #[error("{what}: {detail}")]
    Http {
        /// The call.
        what: String,
        /// Status, body or transport error.
        detail: String,
    },
    /// The server did not start, or a CLI command failed.
    #[error("server: {0}")]
    Server(String),
    /// OpenBao's `bao` is missing, or its dev server did not start.
    #[error("openbao: {0}")]
    OpenBao(String),
    /// wrk is missing, failed, or printed no result line.
    #[error("wrk: {0}")]
    Wrk(String),
    /// The plot could not be drawn.
    #[error("plot: {0}")]
    Plot(String),
    /// Ctrl-C or SIGTERM arrived; everything started is being stopped.
    #[error("interrupted")]
    Interrupted,
}

/// Crate result alias.
pub type Result<T> = std::result::Result<T, BenchError>;

/// Maps an `io::Error` to [`BenchError::Io`] with a description of what we were doing.
pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
    let context = context.into();
    move |source| BenchError::Io { context, source }
}
