//! sea-orm entities, one file per table. They are internal: the repository methods on
//! [`crate::Store`] return plain domain records so callers never depend on sea-orm types.
#![allow(missing_docs)]

pub mod admin_audit_log;
pub mod change_counter;
pub mod contexts;
pub mod identities;
pub mod key_versions;
pub mod rate_limit_policies;
pub mod revoked_tokens;
pub mod usage_counters;
