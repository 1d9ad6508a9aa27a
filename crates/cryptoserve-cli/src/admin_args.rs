//! Arguments of the admin commands (admin token): contexts, identities, tokens, rate limits,
//! the audit log and usage.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};

use cryptoserve_client::api::RateLimitDimension;

/// `cs context ...`.
#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// Create a context (key version 1)
    #[command(long_about = "Create a context (key version 1).\n\nExample:\n  \
        cs context create payments --description 'card data' --algorithm chacha20-poly1305")]
    Create(CreateContextArgs),
    /// List every context
    #[command(long_about = "List every context.\n\nExample:\n  cs context list --format json")]
    List,
    /// Show one context with its key versions
    #[command(long_about = "Show one context with its key versions.\n\nExample:\n  \
        cs context show payments")]
    Show {
        /// Context name
        name: String,
    },
    /// Rotate: a new current key version (older ciphertext still decrypts)
    #[command(
        long_about = "Rotate a context: new ciphertext uses a new key version; older \
        versions keep decrypting until retired with set-min-version.\n\nExample:\n  \
        cs context rotate payments"
    )]
    Rotate {
        /// Context name
        name: String,
    },
    /// Retire every key version below VERSION: their ciphertext is refused from now on
    #[command(
        name = "set-min-version",
        long_about = "Retire every key version below \
        VERSION: ciphertext under them is refused from now on (rewrap it first).\n\n\
        Example:\n  cs context set-min-version payments 3"
    )]
    SetMinVersion {
        /// Context name
        name: String,
        /// Oldest version still decryptable
        version: u32,
    },
    /// Change a context's settings (only the options given)
    #[command(
        long_about = "Change a context's settings; options not given are kept.\n\n\
        Example:\n  cs context configure payments --deletion-allowed true \
        --auto-rotate-period 2592000"
    )]
    Configure(ConfigureContextArgs),
    /// Delete a context whose deletion is allowed; its ciphertext never decrypts again
    #[command(
        long_about = "Delete a context (it must have deletion allowed: `cs context \
        configure NAME --deletion-allowed true`). Every ciphertext under it becomes \
        undecryptable, for good, so --yes is required.\n\nExample:\n  \
        cs context delete scratch --yes"
    )]
    Delete {
        /// Context name
        name: String,
        /// Confirm that its ciphertext may never decrypt again
        #[arg(long, required = true)]
        yes: bool,
    },
}

/// `cs context create`.
#[derive(Debug, Args)]
pub struct CreateContextArgs {
    /// Name: 1-64 of letters, digits, `.`, `_`, `-`, starting with a letter or digit
    pub name: String,
    /// Free text for operators
    #[arg(long)]
    pub description: Option<String>,
    /// AEAD for the context's data
    #[arg(long, value_parser = ["aes-256-gcm", "chacha20-poly1305"])]
    pub algorithm: Option<String>,
    /// Every operation must carry a derivation context that enters the key (`--derivation-context`)
    #[arg(long)]
    pub derived: bool,
    /// Deterministic encryption (requires --derived)
    #[arg(long)]
    pub convergent: bool,
    /// Allow `cs context delete`
    #[arg(long)]
    pub deletion_allowed: bool,
    /// Rotate automatically after this many seconds (0 = never, else at least 3600)
    #[arg(long, value_name = "SECONDS")]
    pub auto_rotate_period: Option<i64>,
}

/// `cs context configure`.
#[derive(Debug, Args)]
pub struct ConfigureContextArgs {
    /// Context name
    pub name: String,
    /// Oldest version still decryptable
    #[arg(long, value_name = "VERSION")]
    pub min_decryption_version: Option<i32>,
    /// Oldest version an encryption may name (0 = no minimum)
    #[arg(long, value_name = "VERSION")]
    pub min_encryption_version: Option<i32>,
    /// Whether `cs context delete` may delete it
    #[arg(long, value_name = "BOOL")]
    pub deletion_allowed: Option<bool>,
    /// Rotate automatically after this many seconds (0 = never, else at least 3600)
    #[arg(long, value_name = "SECONDS")]
    pub auto_rotate_period: Option<i64>,
}

/// `cs identity ...`.
#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Create an identity; its token (shown only now) goes alone to stdout
    #[command(
        long_about = "Create an identity. Its token, shown only now, is printed alone on \
        stdout (the identity goes to stderr); with --format json both go to stdout as \
        {\"identity\", \"token\"}.\n\nExample:\n  \
        TOKEN=$(cs identity create --name billing --role service --contexts payments,orders)"
    )]
    Create(CreateIdentityArgs),
    /// List every identity
    #[command(long_about = "List every identity.\n\nExample:\n  cs identity list")]
    List,
    /// Show one identity
    #[command(long_about = "Show one identity by id.\n\nExample:\n  \
        cs identity show 6f1c2a9e-...")]
    Show {
        /// Identity id
        id: String,
    },
    /// Revoke an identity, permanently, with every token it holds
    #[command(
        long_about = "Revoke an identity, permanently, with every token it holds.\n\n\
        Example:\n  cs identity revoke 6f1c2a9e-..."
    )]
    Revoke {
        /// Identity id
        id: String,
    },
}

/// `cs identity create`.
#[derive(Debug, Args)]
pub struct CreateIdentityArgs {
    /// Label
    #[arg(long)]
    pub name: String,
    /// What it may do
    #[arg(long, value_parser = ["admin", "service"])]
    pub role: String,
    /// Context names it may use, comma-separated (`*`: all)
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub contexts: Option<Vec<String>>,
    /// Token lifetime in days, 1-3650 [default: 90]
    #[arg(long, value_name = "DAYS")]
    pub expires_in_days: Option<u32>,
}

/// `cs token ...`.
#[derive(Subcommand)]
pub enum TokenCommand {
    /// Revoke one token (its identity stays valid); reads the token from stdin
    #[command(
        long_about = "Revoke one token; its identity and other tokens stay valid. The \
        token is read from stdin (so it never appears in the process list) unless given as an \
        argument.\n\nExample:\n  cs token revoke < leaked.token"
    )]
    Revoke {
        /// The token (default, or `-`: read from stdin)
        token: Option<String>,
    },
}

impl std::fmt::Debug for TokenCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Revoke { token } => f
                .debug_struct("Revoke")
                .field("token", &token.as_ref().map(|_| "[redacted]"))
                .finish(),
        }
    }
}

/// `cs rate-limit ...`.
#[derive(Debug, Subcommand)]
pub enum RateLimitCommand {
    /// Show the defaults and every override, or the policy in force for one target
    #[command(
        long_about = "Without a target: the default of each dimension and every \
        override. With --context or --identity: the policy in force for it.\n\nExamples:\n  \
        cs rate-limit show\n  cs rate-limit show --context payments"
    )]
    Show(Target),
    /// Set a default, or the override for one context or identity
    #[command(
        long_about = "Set the override of one context or identity, or a dimension's \
        default.\n\nExamples:\n  \
        cs rate-limit set --identity 6f1c2a9e-... --requests-per-minute 600 --burst 50\n  \
        cs rate-limit set --default identity --requests-per-minute 6000 --burst 100"
    )]
    Set(SetRateLimitArgs),
    /// Fill a bucket again (KEY: an IP address, identity id or context name)
    #[command(
        long_about = "Fill one bucket again, e.g. after a client was throttled by \
        mistake.\n\nExample:\n  cs rate-limit reset identity 6f1c2a9e-..."
    )]
    Reset {
        /// Which bucket family
        #[arg(value_enum)]
        dimension: Dimension,
        /// IP address, identity id or context name
        key: String,
    },
    /// Remove an override; the dimension's default applies again
    #[command(
        long_about = "Remove the override of one context or identity.\n\nExample:\n  \
        cs rate-limit delete --context payments"
    )]
    Delete(OverrideTarget),
}

/// The optional target of `rate-limit show`.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct Target {
    /// A context, by name
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// An identity, by id
    #[arg(long, value_name = "ID")]
    pub identity: Option<String>,
}

/// The required target of `rate-limit delete`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct OverrideTarget {
    /// A context, by name
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// An identity, by id
    #[arg(long, value_name = "ID")]
    pub identity: Option<String>,
}

/// `cs rate-limit set`.
#[derive(Debug, Args)]
pub struct SetRateLimitArgs {
    /// What the policy applies to
    #[command(flatten)]
    pub target: SetTarget,
    /// Sustained rate, 1-10000000
    #[arg(long, value_name = "N")]
    pub requests_per_minute: u32,
    /// Requests allowed at once above the sustained rate, 1-1000000
    #[arg(long, value_name = "N")]
    pub burst: u32,
    /// Keep the policy but do not enforce it
    #[arg(long)]
    pub disabled: bool,
}

/// The target of `rate-limit set`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct SetTarget {
    /// Override for a context, by name
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Override for an identity, by id
    #[arg(long, value_name = "ID")]
    pub identity: Option<String>,
    /// The default of a dimension
    #[arg(long, value_enum, value_name = "DIMENSION")]
    pub default: Option<Dimension>,
}

/// A rate-limit dimension on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dimension {
    /// Client IP address
    Ip,
    /// Calling identity
    Identity,
    /// Target context
    Context,
}

impl From<Dimension> for RateLimitDimension {
    fn from(dimension: Dimension) -> Self {
        match dimension {
            Dimension::Ip => RateLimitDimension::Ip,
            Dimension::Identity => RateLimitDimension::Identity,
            Dimension::Context => RateLimitDimension::Context,
        }
    }
}

/// `cs audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit rows in chain order (all, or one page with --limit)
    #[command(
        long_about = "List audit rows, oldest first: every row (fetched page by page), \
        or one page with --limit.\n\nExample:\n  \
        cs audit list --since 2026-12-01T00:00:00Z"
    )]
    List(AuditListArgs),
    /// Walk the whole chain; exits 1 if any row was altered, deleted or moved
    #[command(
        long_about = "Walk the whole audit chain and check every row's MAC and \
        back-link, and compare it with the server's latest checkpoint in Redis (when it \
        has Redis) and with --checkpoint. Reports truncation (rows after a checkpoint \
        deleted), rewriting, gaps and reordering separately. Exits 0 when intact, 1 when \
        not.\n\nExamples:\n  cs audit verify\n  \
        cs audit verify --checkpoint checkpoint.json\n  \
        cs audit verify --checkpoint audit.log      # the last checkpoint line in a log file"
    )]
    Verify(AuditVerifyArgs),
}

/// `cs audit verify`.
#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// An expected checkpoint: a file, or the JSON itself. A file may be a log: its last
    /// `cryptoserve::audit` checkpoint line is used
    #[arg(long, value_name = "FILE|JSON")]
    pub checkpoint: Option<String>,
}

/// `cs audit list`.
#[derive(Debug, Args)]
pub struct AuditListArgs {
    /// Only rows at or after this time (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub since: Option<DateTime<Utc>>,
    /// Only rows with a larger id (paging)
    #[arg(long, value_name = "ID")]
    pub after_id: Option<i64>,
    /// One page of at most this many rows (1-1000)
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
}

/// `cs usage`.
#[derive(Debug, Args)]
pub struct UsageArgs {
    /// Only this context
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Only this identity id
    #[arg(long, value_name = "ID")]
    pub identity: Option<String>,
    /// Only minutes at or after this time (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub since: Option<DateTime<Utc>>,
}
