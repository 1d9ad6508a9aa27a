//! The command line: global options, the top-level commands and the data commands' arguments
//! (clap derive). The admin commands' arguments live in `admin_args.rs`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::admin_args::{
    AuditCommand, ContextCommand, IdentityCommand, RateLimitCommand, TokenCommand, UsageArgs,
};
use crate::units::{parse_chunk_size, parse_duration};

const EXIT_CODES: &str = "\
Configuration (flags win over the environment, which wins over the profile file):
  CRYPTOSERVE_ADDR          comma-separated base URLs, tried in order (failover)
  CRYPTOSERVE_TOKEN         bearer token (or CRYPTOSERVE_TOKEN_FILE: a file holding it)
  CRYPTOSERVE_PROFILE       profile of ~/.config/cryptoserve/config.toml (default: default)
  CRYPTOSERVE_CONFIG_DIR    directory of config.toml (default: ~/.config/cryptoserve)
  CRYPTOSERVE_CACERT        PEM CA file: trust only these CAs for https:// (like --cacert)
  CRYPTOSERVE_CLIENT_CERT   PEM client certificate for mutual TLS, with
  CRYPTOSERVE_CLIENT_KEY    its private key

Exit codes:
  0  success
  1  any other failure (local I/O, an unreadable answer, a broken audit chain)
  2  usage or configuration error (bad arguments, no address, unreadable profile)
  3  authentication or authorisation refused (401, 403)
  4  not found (404: unknown context, identity or override)
  5  rate limited (429, after the allowed waits)
  6  server unavailable: connection failed, timed out, TLS handshake failed (untrusted,
     expired or wrong-host certificate, client certificate refused), 5xx, or an instance
     not ready
  7  data refused: decryption failed, a tampered, truncated or foreign file, or an invalid
     request (400, 409, 413)

See docs/cli.md for every command with examples.";

/// `cs`: the CryptoServe command line.
#[derive(Debug, Parser)]
#[command(
    name = "cs",
    version,
    about = "CryptoServe from the command line: encrypt data and files, manage contexts, \
             identities, rate limits and the audit log",
    long_about = "CryptoServe from the command line: encrypt data and files of any size, and \
                  manage contexts, identities, rate limits and the audit log of a running \
                  CryptoServe cluster over its HTTP API.\n\n\
                  Example:\n  \
                  export CRYPTOSERVE_ADDR=http://127.0.0.1:8003 CRYPTOSERVE_TOKEN=...\n  \
                  cs context create payments\n  \
                  printf 'card 4111' | cs encrypt --context payments > card.ct\n  \
                  cs decrypt --context payments < card.ct",
    after_long_help = EXIT_CODES,
    after_help = "Exit codes: 0 ok, 1 other, 2 usage, 3 auth, 4 not found, 5 rate limited, \
                  6 unavailable, 7 data refused (--help for details)."
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes, before or after the command name.
#[derive(Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Server base URLs, comma-separated, tried in order [default: $CRYPTOSERVE_ADDR, then the
    /// profile]
    #[arg(long, global = true, value_delimiter = ',', value_name = "URL")]
    pub addr: Vec<String>,
    /// Bearer token; visible to other local users in the process list, so prefer
    /// $CRYPTOSERVE_TOKEN or --token-file [default: $CRYPTOSERVE_TOKEN]
    #[arg(long, global = true, value_name = "TOKEN")]
    pub token: Option<String>,
    /// File holding the bearer token [default: $CRYPTOSERVE_TOKEN_FILE]
    #[arg(long, global = true, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Profile of ~/.config/cryptoserve/config.toml [default: $CRYPTOSERVE_PROFILE, then
    /// `default`]
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Trust only the CA certificates in this PEM file for https:// addresses, not the
    /// built-in roots [default: $CRYPTOSERVE_CACERT, then the profile's `cacert`]
    #[arg(long, global = true, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Client certificate (PEM, chain allowed) for servers that require mutual TLS; needs
    /// --client-key [default: $CRYPTOSERVE_CLIENT_CERT]
    #[arg(long, global = true, value_name = "FILE")]
    pub client_cert: Option<PathBuf>,
    /// Private key (PEM) of --client-cert [default: $CRYPTOSERVE_CLIENT_KEY]
    #[arg(long, global = true, value_name = "FILE")]
    pub client_key: Option<PathBuf>,
    /// Output: `text` (tables for admin commands, raw data for data commands) or `json` (one
    /// JSON document)
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Per-request timeout, e.g. `30s`, `500ms`, `2m` [default: 30s, or the profile's]
    #[arg(long, global = true, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// How many times a rate-limited (429) call waits for Retry-After before failing with
    /// exit code 5; 0 fails at once [default: 3]
    #[arg(long, global = true, value_name = "N")]
    pub max_rate_limit_waits: Option<u32>,
    /// Log every request (-v) or everything (-vv) on stderr; retries and failovers are always
    /// logged
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl std::fmt::Debug for Global {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Global")
            .field("addr", &self.addr)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("token_file", &self.token_file)
            .field("profile", &self.profile)
            .field("cacert", &self.cacert)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key)
            .field("format", &self.format)
            .field("timeout", &self.timeout)
            .field("max_rate_limit_waits", &self.max_rate_limit_waits)
            .field("verbose", &self.verbose)
            .finish()
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned tables for admin commands; raw bytes or one line of text for data commands.
    #[value(alias = "table", alias = "raw")]
    Text,
    /// One JSON document on stdout.
    Json,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Encrypt bytes from stdin (or --in) and print the ciphertext text
    #[command(
        long_about = "Encrypt bytes from stdin (or --in) under a context and print the \
        ciphertext text and a newline (with --format json: {\"ciphertext\", \"key_version\", \
        \"algorithm\"}). Binary-safe; the server accepts up to about 750 KiB: use encrypt-file \
        for anything larger.\n\nExample:\n  printf 'card 4111' | cs encrypt --context payments"
    )]
    Encrypt(EncryptArgs),
    /// Decrypt ciphertext text from stdin (or --in) and write the raw plaintext bytes
    #[command(
        long_about = "Decrypt a ciphertext (text, surrounding whitespace ignored) from \
        stdin (or --in) and write the raw plaintext bytes to stdout (or --out), with no newline \
        added (with --format json: {\"plaintext\": base64}).\n\nExample:\n  \
        cs decrypt --context payments < card.ct"
    )]
    Decrypt(DecryptArgs),
    /// Re-encrypt a ciphertext under the context's current key version
    #[command(
        long_about = "Re-encrypt a ciphertext from stdin (or --in) under the context's \
        current key version; the plaintext never leaves the server. Prints the new ciphertext \
        text.\n\nExample:\n  cs rewrap --context payments < card.ct > card.ct.new"
    )]
    Rewrap(RewrapArgs),
    /// Get a fresh data key: its bytes (base64) and its wrapped text
    #[command(
        long_about = "Get a fresh data key for envelope encryption: the key bytes \
        (base64) and the key wrapped under the context key (store that; `cs decrypt` gives the \
        key back). --wrapped-only prints just the wrapped text and never fetches the key \
        bytes.\n\nExample:\n  cs datakey --context payments --bits 256 --format json"
    )]
    Datakey(DatakeyArgs),
    /// Encrypt a file of any size (envelope encryption, streamed in constant memory)
    #[command(
        long_about = "Encrypt a file of any size: one data key from the server, whose \
        wrapped form and the context name go into the file header, then the contents \
        streamed through the chunked STREAM format (docs/file-format.md) in constant memory. \
        `-` reads stdin or writes stdout. The output is written to a temporary file beside \
        --out (mode 0600) and renamed into place when complete.\n\nExample:\n  \
        cs encrypt-file --context backups --in db.dump --out db.dump.csfe"
    )]
    EncryptFile(EncryptFileArgs),
    /// Decrypt a file written by encrypt-file; nothing is left at --out unless it is intact
    #[command(
        long_about = "Decrypt a file written by encrypt-file: the server unwraps the data \
        key stored in the header (in the context the header names), then the contents are \
        streamed and every chunk authenticated. The plaintext goes to a temporary file beside \
        --out (mode 0600), renamed into place only once the whole file has been verified; on \
        any failure it is deleted and the exit code is 7. With `--out -` plaintext streams \
        to stdout as it is verified chunk by chunk: if the command then fails (non-zero exit) \
        the output must be discarded.\n\nExample:\n  \
        cs decrypt-file --in db.dump.csfe --out db.dump"
    )]
    DecryptFile(DecryptFileArgs),
    /// Manage contexts: create, list, show, rotate, set-min-version, configure, delete
    #[command(subcommand)]
    Context(ContextCommand),
    /// Manage identities and their tokens: create, list, show, revoke
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Revoke single tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Show and change rate limits: show, set, reset, delete
    #[command(subcommand, name = "rate-limit")]
    RateLimit(RateLimitCommand),
    /// Read and verify the tamper-evident admin audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Per-minute crypto usage counters
    #[command(
        long_about = "Per-minute crypto usage counters per identity, context, operation \
        and outcome.\n\nExample:\n  cs usage --context payments --since 2026-12-01T00:00:00Z"
    )]
    Usage(UsageArgs),
    /// Readiness of every configured address, one line per instance
    #[command(
        long_about = "Ask every configured address for /health/ready, without failover: \
        one line per instance. Exits 0 when all are ready, 6 otherwise.\n\nExample:\n  \
        cs --addr http://cs-1:8003,http://cs-2:8003 status"
    )]
    Status,
    /// Print a shell completion script
    #[command(long_about = "Print a completion script for a shell.\n\nExample:\n  \
        cs completions bash > ~/.local/share/bash-completion/completions/cs\n  \
        cs completions zsh > \"${fpath[1]}/_cs\"")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Where a data command reads and writes.
#[derive(Debug, Args)]
pub struct DataIo {
    /// Read from this file instead of stdin
    #[arg(long = "in", value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// Write to this file instead of stdout
    #[arg(long = "out", value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// `cs encrypt`.
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// Context to encrypt under
    #[arg(long, short = 'c')]
    pub context: String,
    /// Associated data (text): authenticated, not encrypted; needed again to decrypt
    #[arg(long, value_name = "TEXT")]
    pub aad: Option<String>,
    /// Derivation context (text) of a context created with --derived: it enters the key, and
    /// the same text is needed again
    #[arg(long, value_name = "TEXT")]
    pub derivation_context: Option<String>,
    #[command(flatten)]
    pub io: DataIo,
}

/// `cs decrypt`.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// Context the ciphertext was encrypted under
    #[arg(long, short = 'c')]
    pub context: String,
    /// The associated data given at encryption
    #[arg(long, value_name = "TEXT")]
    pub aad: Option<String>,
    /// Derivation context (text) of a context created with --derived: it enters the key, and
    /// the same text is needed again
    #[arg(long, value_name = "TEXT")]
    pub derivation_context: Option<String>,
    #[command(flatten)]
    pub io: DataIo,
}

/// `cs rewrap`.
#[derive(Debug, Args)]
pub struct RewrapArgs {
    /// Context the ciphertext was encrypted under
    #[arg(long, short = 'c')]
    pub context: String,
    /// The associated data given at encryption (kept for the new ciphertext)
    #[arg(long, value_name = "TEXT")]
    pub aad: Option<String>,
    /// Derivation context (text) of a context created with --derived: it enters the key, and
    /// the same text is needed again
    #[arg(long, value_name = "TEXT")]
    pub derivation_context: Option<String>,
    #[command(flatten)]
    pub io: DataIo,
}

/// `cs datakey`.
#[derive(Debug, Args)]
pub struct DatakeyArgs {
    /// Context whose key wraps the data key
    #[arg(long, short = 'c')]
    pub context: String,
    /// Key size
    #[arg(long, value_enum, default_value_t = KeyBits::B256)]
    pub bits: KeyBits,
    /// Print only the wrapped key (the key bytes are not even fetched)
    #[arg(long)]
    pub wrapped_only: bool,
    /// Derivation context (text) of a context created with --derived: it enters the key, and
    /// the same text is needed to decrypt the wrapped key
    #[arg(long, value_name = "TEXT")]
    pub derivation_context: Option<String>,
    /// Write to this file instead of stdout
    #[arg(long = "out", value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// `cs encrypt-file`.
#[derive(Debug, Args)]
pub struct EncryptFileArgs {
    /// Context whose key wraps the file's data key (recorded in the header)
    #[arg(long, short = 'c')]
    pub context: String,
    /// File to encrypt (`-`: stdin)
    #[arg(long = "in", value_name = "PATH")]
    pub input: PathBuf,
    /// Encrypted file to write (`-`: stdout); replaced if it exists
    #[arg(long = "out", value_name = "PATH")]
    pub output: PathBuf,
    /// Plaintext bytes per chunk, 4K to 16M (suffixes K and M are powers of 1024)
    #[arg(long, value_parser = parse_chunk_size, default_value = "64K", value_name = "SIZE")]
    pub chunk_size: cryptoserve_core::stream::ChunkSize,
    /// Chunk cipher
    #[arg(long, value_enum, default_value_t = FileAlgorithm::Aes256Gcm)]
    pub algorithm: FileAlgorithm,
}

/// `cs decrypt-file`.
#[derive(Debug, Args)]
pub struct DecryptFileArgs {
    /// Encrypted file (`-`: stdin)
    #[arg(long = "in", value_name = "PATH")]
    pub input: PathBuf,
    /// Where the plaintext goes (`-`: stdout); replaced only once the file is verified
    #[arg(long = "out", value_name = "PATH")]
    pub output: PathBuf,
    /// Unwrap the data key in this context instead of the one the header names
    #[arg(long, short = 'c')]
    pub context: Option<String>,
}

/// Data key sizes the server hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyBits {
    /// 128 bits
    #[value(name = "128")]
    B128,
    /// 256 bits
    #[value(name = "256")]
    B256,
    /// 512 bits
    #[value(name = "512")]
    B512,
}

impl KeyBits {
    /// The size in bits.
    pub fn get(self) -> u32 {
        match self {
            Self::B128 => 128,
            Self::B256 => 256,
            Self::B512 => 512,
        }
    }
}

/// The chunk ciphers of the file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileAlgorithm {
    /// AES-256-GCM (hardware-accelerated on most CPUs)
    #[value(name = "aes-256-gcm")]
    Aes256Gcm,
    /// ChaCha20-Poly1305 (fast without AES instructions)
    #[value(name = "chacha20-poly1305")]
    ChaCha20Poly1305,
}

impl FileAlgorithm {
    /// The core's algorithm.
    pub fn core(self) -> cryptoserve_core::Algorithm {
        match self {
            Self::Aes256Gcm => cryptoserve_core::Algorithm::Aes256Gcm,
            Self::ChaCha20Poly1305 => cryptoserve_core::Algorithm::ChaCha20Poly1305,
        }
    }
}
