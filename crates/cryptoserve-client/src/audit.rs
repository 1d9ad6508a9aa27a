//! The admin audit chain and the usage counters (`/api/admin/audit`, `/api/admin/usage`,
//! admin token). All reads.

use cryptoserve_api::{
    AuditCheckpoint, AuditPage, AuditQuery, AuditRecord, AuditVerification, AuditVerifyRequest,
    UsageQuery, UsageReport, UsageRow,
};

use crate::error::Result;
use crate::transport::Call;
use crate::Client;

/// Rows per page when [`Client::audit_all`] walks the chain.
const PAGE: u64 = 1000;

impl Client {
    /// One page of audit rows in chain order (`limit` 1-1000, default 100; page on with
    /// `after_id` = the last row's id).
    pub async fn audit_page(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let call = Call::get(&["api", "admin", "audit"]).query(query)?;
        let page: AuditPage = self.call(call).await?;
        Ok(page.entries)
    }

    /// Every audit row at or after `since` (all when `None`), fetched page by page.
    pub async fn audit_all(
        &self,
        since: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<AuditRecord>> {
        let mut rows = Vec::new();
        let mut after_id = None;
        loop {
            let query = AuditQuery {
                since,
                after_id,
                limit: Some(PAGE),
            };
            let page = self.audit_page(&query).await?;
            let full = page.len() as u64 == PAGE;
            after_id = page.last().map(|row| row.id);
            rows.extend(page);
            if !full {
                return Ok(rows);
            }
        }
    }

    /// Walks the whole chain and says whether it is intact and where it breaks (compared with
    /// the server's latest checkpoint in Redis, when it has one).
    pub async fn verify_audit(&self) -> Result<AuditVerification> {
        self.call(Call::get(&["api", "admin", "audit", "verify"]))
            .await
    }

    /// Like [`Client::verify_audit`], and also checks that the chain still reaches
    /// `checkpoint` (one kept outside the database, e.g. by a log shipper) unaltered. A
    /// checkpoint whose MAC does not verify is refused with `invalid_checkpoint`.
    pub async fn verify_audit_against(
        &self,
        checkpoint: &AuditCheckpoint,
    ) -> Result<AuditVerification> {
        let body = AuditVerifyRequest {
            checkpoint: Some(checkpoint.clone()),
        };
        // A read: safe to repeat like a GET.
        let call = Call::new(
            reqwest::Method::POST,
            &["api", "admin", "audit", "verify"],
            crate::retry::Repeat::Safe,
        )
        .json(&body)?;
        self.call(call).await
    }

    /// Per-minute crypto usage counters, filtered by `query`.
    pub async fn usage(&self, query: &UsageQuery) -> Result<Vec<UsageRow>> {
        let call = Call::get(&["api", "admin", "usage"]).query(query)?;
        let report: UsageReport = self.call(call).await?;
        Ok(report.usage)
    }
}
