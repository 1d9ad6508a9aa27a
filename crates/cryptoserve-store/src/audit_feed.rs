//! Telling the owner of the store about audit rows once they are committed (the server
//! streams them to its log as the SIEM feed and publishes a fresh checkpoint).
//!
//! Rows are appended inside write transactions that may still roll back, so they are held
//! here until [`Store::commit_write`] has committed them. Holding them per store rather than
//! per transaction is sound because every write transaction holds the store-wide write lock
//! ([`Store::begin_write`]): on one instance at most one transaction with audit rows is open
//! at a time, and `begin_write` drops whatever a rolled-back predecessor left behind.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use sea_orm::DatabaseTransaction;

use cryptoserve_api::AuditRecord;

use crate::error::Result;
use crate::Store;

/// Called with the audit rows of each committed write transaction, in chain order, right
/// after the commit. It runs on the writing task: keep it short and never block.
pub type AuditObserver = Arc<dyn Fn(&[AuditRecord]) + Send + Sync>;

/// Rows of the open write transaction and the observers to hand them to.
#[derive(Default)]
pub(crate) struct AuditFeed {
    pending: Mutex<Vec<AuditRecord>>,
    observers: RwLock<Vec<AuditObserver>>,
}

impl std::fmt::Debug for AuditFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditFeed")
            .field("observers", &self.observer_count())
            .finish()
    }
}

impl AuditFeed {
    fn observer_count(&self) -> usize {
        self.observers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Remembers a row appended by the open transaction (only when someone observes).
    pub(crate) fn appended(&self, record: &AuditRecord) {
        if self.observer_count() > 0 {
            self.pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(record.clone());
        }
    }

    /// Forgets rows of a transaction that never committed.
    pub(crate) fn discard(&self) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn take(&self) -> Vec<AuditRecord> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Store {
    /// Adds an observer of committed audit rows (for this handle and all its clones).
    pub fn observe_audit(&self, observer: AuditObserver) {
        self.audit_feed
            .observers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(observer);
    }

    /// Commits a write transaction, then hands its audit rows to the observer.
    pub(crate) async fn commit_write(&self, txn: DatabaseTransaction) -> Result<()> {
        // Taken before the commit: once it commits, the next writer may start and discard.
        let committed = self.audit_feed.take();
        txn.commit().await?;
        if !committed.is_empty() {
            let observers = self
                .audit_feed
                .observers
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            for observer in observers {
                observer(&committed);
            }
        }
        Ok(())
    }
}

/// A fresh feed for a new store handle (shared by its clones).
pub(crate) fn new_feed() -> Arc<AuditFeed> {
    Arc::new(AuditFeed::default())
}
