//! The tamper-evident admin audit log.
//!
//! Rows form an HMAC chain (see [`crate::AuditKey`]): each MAC covers the row and the previous
//! row's MAC, so editing or deleting a row breaks verification at that row or the next one.
//! Appends run inside [`Store::begin_write`]'s lock, so concurrent writers on any number of
//! instances extend one linear chain. A row's id is part of its MAC, so we insert the row,
//! learn its id, then fill in the MAC — all in the same locked transaction.
//!
//! The chain alone cannot show that the newest rows were deleted (truncating the tail):
//! checkpoints published outside the database do (`audit_verify.rs`). Verification lives in
//! `audit_verify.rs`; handing committed rows to the server in `audit_feed.rs`.

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::Serialize;

use crate::audit_key::{MacInput, GENESIS_MAC};
use crate::entity::admin_audit_log;
use crate::error::Result;
use crate::Store;

pub use cryptoserve_api::{AuditRecord, AuditVerification};

/// Whether the audited action succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// The action took effect.
    Success,
    /// The action was refused or failed; nothing changed.
    Failure,
}

impl AuditOutcome {
    /// The value stored in the `outcome` column.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Success => "success",
            AuditOutcome::Failure => "failure",
        }
    }
}

/// Who did what, as supplied by the caller of a mutation. Mutations record it with outcome
/// `Success` in their own transaction; [`Store::record_audit`] records it as given.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Identity id of the caller, or `"cli"` for the admin command line.
    pub actor: String,
    /// Dotted verb such as `context.create`.
    pub action: String,
    /// What was acted on (context name, identity id, ...).
    pub target: String,
    /// Correlates with request logs.
    pub request_id: String,
    /// Caller address as seen by the server.
    pub client_ip: String,
    /// Used by `record_audit`; mutations always write `Success`.
    pub outcome: AuditOutcome,
    /// Extra structured facts (never secrets).
    pub details: Option<serde_json::Value>,
}

impl AuditEntry {
    /// A successful entry with empty request id and client ip; fill those in with the setters.
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        target: impl Into<String>,
    ) -> Self {
        AuditEntry {
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            request_id: String::new(),
            client_ip: String::new(),
            outcome: AuditOutcome::Success,
            details: None,
        }
    }

    /// Sets the request id and client ip from the HTTP request.
    pub fn from_request(
        mut self,
        request_id: impl Into<String>,
        client_ip: impl Into<String>,
    ) -> Self {
        self.request_id = request_id.into();
        self.client_ip = client_ip.into();
        self
    }

    /// Attaches structured details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Marks the entry as a failed attempt.
    pub fn failed(mut self) -> Self {
        self.outcome = AuditOutcome::Failure;
        self
    }
}

impl Store {
    /// Records a standalone event, typically a failed attempt, in its own transaction.
    pub async fn record_audit(&self, entry: AuditEntry) -> Result<AuditRecord> {
        let txn = self.begin_write().await?;
        let outcome = entry.outcome;
        let record = self.append_audit(&txn, &entry, outcome).await?;
        self.commit_write(txn).await?;
        Ok(record)
    }

    /// Audit rows in chain order, optionally from a time and/or after an id (for paging).
    pub async fn list_audit(
        &self,
        since: Option<DateTime<Utc>>,
        after_id: Option<i64>,
        limit: u64,
    ) -> Result<Vec<AuditRecord>> {
        let mut query = admin_audit_log::Entity::find().order_by_asc(admin_audit_log::Column::Id);
        if let Some(since) = since {
            query = query.filter(admin_audit_log::Column::At.gte(since));
        }
        if let Some(after_id) = after_id {
            query = query.filter(admin_audit_log::Column::Id.gt(after_id));
        }
        let txn = self.begin().await?;
        let rows = query.limit(limit).all(&txn).await?;
        txn.commit().await?;
        Ok(rows.into_iter().map(AuditRecord::from).collect())
    }

    /// Appends one row to the chain. The caller must hold [`Store::begin_write`]'s lock.
    pub(crate) async fn append_audit(
        &self,
        txn: &impl ConnectionTrait,
        entry: &AuditEntry,
        outcome: crate::AuditOutcome,
    ) -> Result<AuditRecord> {
        let prev_mac = admin_audit_log::Entity::find()
            .order_by_desc(admin_audit_log::Column::Id)
            .one(txn)
            .await?
            .map_or_else(|| GENESIS_MAC.to_owned(), |row| row.mac);
        let details = entry.details.as_ref().map(serde_json::Value::to_string);
        let inserted = admin_audit_log::ActiveModel {
            // Both backends keep microseconds; truncating first keeps the signed value exact.
            at: Set(Utc::now().trunc_subsecs(6)),
            actor: Set(entry.actor.clone()),
            action: Set(entry.action.clone()),
            target: Set(entry.target.clone()),
            request_id: Set(entry.request_id.clone()),
            client_ip: Set(entry.client_ip.clone()),
            outcome: Set(outcome.as_str().to_owned()),
            details: Set(details),
            prev_mac: Set(prev_mac.clone()),
            mac: Set(String::new()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let mac = self.audit_key.mac_row(&mac_input(&inserted), &prev_mac);
        let mut signed: admin_audit_log::ActiveModel = inserted.into();
        signed.mac = Set(mac);
        let signed = AuditRecord::from(signed.update(txn).await?);
        self.audit_feed.appended(&signed);
        Ok(signed)
    }
}

pub(crate) fn mac_input(row: &admin_audit_log::Model) -> MacInput<'_> {
    MacInput {
        id: row.id,
        at: row.at,
        actor: &row.actor,
        action: &row.action,
        target: &row.target,
        request_id: &row.request_id,
        client_ip: &row.client_ip,
        outcome: &row.outcome,
        details: row.details.as_deref(),
    }
}

impl From<admin_audit_log::Model> for AuditRecord {
    fn from(row: admin_audit_log::Model) -> Self {
        AuditRecord {
            id: row.id,
            at: row.at,
            actor: row.actor,
            action: row.action,
            target: row.target,
            request_id: row.request_id,
            client_ip: row.client_ip,
            outcome: row.outcome,
            details: row.details,
            prev_mac: row.prev_mac,
            mac: row.mac,
        }
    }
}
