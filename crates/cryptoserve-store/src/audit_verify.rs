//! Verifying the audit chain, alone or against checkpoints, and telling the kinds of damage
//! apart.
//!
//! The walk reads every row in id order and never stops early. Each row is judged twice:
//! does its own MAC verify over its content and stored `prev_mac` (is the row intact?), and
//! does its `prev_mac` equal the MAC of the row before it (is it where it was written?).
//! - intact but not linked: rows before it were deleted (a **gap**);
//! - not intact, but it verifies under the id of a nearby row: it was moved (**reordered**);
//! - not intact otherwise: its content or MAC was changed (**rewritten**).
//!
//! A broken link right after a row already reported is that row's consequence, not a new
//! finding. Checkpoints catch the one thing the chain cannot: rows deleted from the end
//! (**truncated**), or a rewritten head.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use cryptoserve_api::{
    AuditCheckpoint, AuditProblem, AuditProblemKind, AuditVerification, CheckedCheckpoint,
    CheckpointSource,
};

use crate::audit::mac_input;
use crate::audit_key::GENESIS_MAC;
use crate::entity::admin_audit_log;
use crate::error::Result;
use crate::Store;

/// Rows read per query while verifying, to bound memory on long chains.
const VERIFY_PAGE: u64 = 1000;
/// How far (in rows, either way) a moved row's signed position is looked for.
const REORDER_WINDOW: usize = 16;
/// Findings kept in one report; the walk still checks every row.
const MAX_PROBLEMS: usize = 1000;

impl Store {
    /// Recomputes every MAC from the first row and reports every finding (no checkpoint).
    pub async fn verify_audit_chain(&self) -> Result<AuditVerification> {
        self.verify_audit_chain_against(Vec::new()).await
    }

    /// Verifies the chain and compares it with `checkpoints`. A checkpoint whose MAC does not
    /// verify is reported (`authentic: false`, `ok: false`) and otherwise ignored; callers
    /// that must refuse one outright check [`Store::checkpoint_is_authentic`] first.
    pub async fn verify_audit_chain_against(
        &self,
        checkpoints: Vec<(CheckpointSource, AuditCheckpoint)>,
    ) -> Result<AuditVerification> {
        let checked: Vec<CheckedCheckpoint> = checkpoints
            .into_iter()
            .map(|(source, checkpoint)| CheckedCheckpoint {
                authentic: self.checkpoint_is_authentic(&checkpoint),
                source,
                checkpoint,
            })
            .collect();
        let expected: Vec<AuditCheckpoint> = checked
            .iter()
            .filter(|c| c.authentic)
            .map(|c| c.checkpoint.clone())
            .collect();
        let mut walk = Walk::new(expected.len());
        let mut window: VecDeque<admin_audit_log::Model> = VecDeque::new();
        let mut position = 0;
        let mut after_id = i64::MIN;
        let mut loaded_all = false;
        loop {
            if !loaded_all && window.len() - position <= REORDER_WINDOW {
                let txn = self.begin().await?;
                let page = admin_audit_log::Entity::find()
                    .filter(admin_audit_log::Column::Id.gt(after_id))
                    .order_by_asc(admin_audit_log::Column::Id)
                    .limit(VERIFY_PAGE)
                    .all(&txn)
                    .await?;
                txn.commit().await?;
                loaded_all = (page.len() as u64) < VERIFY_PAGE;
                if let Some(last) = page.last() {
                    after_id = last.id;
                }
                window.extend(page);
                continue;
            }
            if position == window.len() {
                break;
            }
            let nearby = position.saturating_sub(REORDER_WINDOW)
                ..(position + REORDER_WINDOW + 1).min(window.len());
            let neighbours: Vec<i64> = window
                .range(nearby)
                .map(|row| row.id)
                .filter(|&id| id != window[position].id)
                .collect();
            walk.row(self, &window[position], &neighbours, &expected);
            position += 1;
            if position > REORDER_WINDOW {
                window.pop_front();
                position -= 1;
            }
        }
        let ok_checkpoints = checked.iter().all(|c| c.authentic);
        Ok(walk.finish(&expected, checked, ok_checkpoints))
    }

    /// True when the checkpoint's MAC verifies under this store's audit key.
    pub fn checkpoint_is_authentic(&self, checkpoint: &AuditCheckpoint) -> bool {
        self.audit_key.verify_checkpoint(
            checkpoint.sequence,
            &checkpoint.head_mac,
            checkpoint.at,
            &checkpoint.mac,
        )
    }

    /// Signs a checkpoint for the row `sequence` whose MAC is `head_mac`, taken at `at`.
    pub fn sign_checkpoint(
        &self,
        sequence: i64,
        head_mac: &str,
        at: DateTime<Utc>,
    ) -> AuditCheckpoint {
        // Microseconds, like audit rows: both the MAC and every copy keep exactly this.
        let at = chrono::SubsecRound::trunc_subsecs(at, 6);
        AuditCheckpoint {
            sequence,
            head_mac: head_mac.to_owned(),
            at,
            mac: self.audit_key.mac_checkpoint(sequence, head_mac, at),
        }
    }

    /// A checkpoint of the chain's head now; `None` while the chain is empty.
    pub async fn audit_checkpoint(&self) -> Result<Option<AuditCheckpoint>> {
        let txn = self.begin().await?;
        let newest = admin_audit_log::Entity::find()
            .order_by_desc(admin_audit_log::Column::Id)
            .one(&txn)
            .await?;
        txn.commit().await?;
        Ok(newest.map(|row| self.sign_checkpoint(row.id, &row.mac, Utc::now())))
    }
}

/// The state of one walk over the chain.
struct Walk {
    rows_checked: u64,
    /// (id, MAC) of the last row seen.
    previous: Option<(i64, String)>,
    /// Whether the last row seen did not verify (its successor's broken link follows from it).
    previous_reported: bool,
    /// Per checkpoint: whether its row was found.
    checkpoint_found: Vec<bool>,
    problems: Vec<AuditProblem>,
}

impl Walk {
    fn new(checkpoints: usize) -> Self {
        Walk {
            rows_checked: 0,
            previous: None,
            previous_reported: false,
            checkpoint_found: vec![false; checkpoints],
            problems: Vec::new(),
        }
    }

    fn report(&mut self, kind: AuditProblemKind, row_id: i64, detail: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(AuditProblem {
                kind,
                row_id,
                detail,
            });
        }
    }

    fn row(
        &mut self,
        store: &Store,
        row: &admin_audit_log::Model,
        neighbours: &[i64],
        checkpoints: &[AuditCheckpoint],
    ) {
        self.rows_checked += 1;
        let key = &store.audit_key;
        let input = mac_input(row);
        let intact = key.verify_row(&input, &row.prev_mac, &row.mac);
        if intact {
            let expected_prev = self
                .previous
                .as_ref()
                .map_or(GENESIS_MAC, |(_, mac)| mac.as_str());
            if row.prev_mac != expected_prev && !self.previous_reported {
                let detail = match &self.previous {
                    Some((previous_id, _)) => format!(
                        "row {} is intact but was chained to a row that is no longer before \
                         it: rows between {previous_id} and {} were deleted",
                        row.id, row.id
                    ),
                    None => format!(
                        "row {} is the first row but does not start the chain: rows before it \
                         were deleted",
                        row.id
                    ),
                };
                self.report(AuditProblemKind::Gap, row.id, detail);
            }
        } else {
            let signed_as = neighbours.iter().copied().find(|&id| {
                let mut moved = mac_input(row);
                moved.id = id;
                key.verify_row(&moved, &row.prev_mac, &row.mac)
            });
            let (kind, detail) = match signed_as {
                Some(id) => (
                    AuditProblemKind::Reordered,
                    format!("row {} holds the record signed as row {id}", row.id),
                ),
                None => (
                    AuditProblemKind::Rewritten,
                    format!("row {}: its content or MAC does not verify", row.id),
                ),
            };
            self.report(kind, row.id, detail);
        }
        for (index, checkpoint) in checkpoints.iter().enumerate() {
            if checkpoint.sequence == row.id {
                self.checkpoint_found[index] = true;
                if checkpoint.head_mac != row.mac {
                    self.report(
                        AuditProblemKind::Rewritten,
                        row.id,
                        format!(
                            "row {} does not have the MAC the checkpoint of {} recorded",
                            row.id,
                            checkpoint.at.to_rfc3339()
                        ),
                    );
                }
            }
        }
        self.previous = Some((row.id, row.mac.clone()));
        // An intact row's MAC is trustworthy, so its successor's link is judged on its own.
        self.previous_reported = !intact;
    }

    fn finish(
        mut self,
        checkpoints: &[AuditCheckpoint],
        checked: Vec<CheckedCheckpoint>,
        checkpoints_authentic: bool,
    ) -> AuditVerification {
        let (last_id, head_mac) = match self.previous.take() {
            Some((id, mac)) => (Some(id), Some(mac)),
            None => (None, None),
        };
        for (index, checkpoint) in checkpoints.iter().enumerate() {
            if self.checkpoint_found[index] {
                continue;
            }
            let sequence = checkpoint.sequence;
            let detail = match last_id {
                Some(last) if last > sequence => format!(
                    "row {sequence}, the head at the checkpoint of {}, is gone",
                    checkpoint.at.to_rfc3339()
                ),
                _ => format!(
                    "the checkpoint of {} names row {sequence}, but the last row is {}: rows \
                     after it were deleted",
                    checkpoint.at.to_rfc3339(),
                    last_id.map_or_else(|| "none".to_owned(), |id| id.to_string())
                ),
            };
            self.report(AuditProblemKind::Truncated, sequence, detail);
        }
        self.problems.sort_by_key(|problem| problem.row_id);
        AuditVerification {
            rows_checked: self.rows_checked,
            ok: self.problems.is_empty() && checkpoints_authentic,
            first_broken_id: self.problems.first().map(|problem| problem.row_id),
            last_id,
            head_mac,
            checkpoints: checked,
            problems: self.problems,
        }
    }
}
