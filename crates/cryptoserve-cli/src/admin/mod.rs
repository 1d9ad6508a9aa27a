//! The admin commands (admin token), one family per file; each prints a table or key/value
//! listing, or with `--format json` the server's record as one JSON document (lists as
//! arrays).

pub mod audit;
mod checkpoint;
pub mod contexts;
pub mod identities;
pub mod rate_limits;
pub mod status;
