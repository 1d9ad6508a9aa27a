//! `cs audit list|verify` and `cs usage`.

use cryptoserve_client::api::{
    AuditProblemKind, AuditQuery, AuditRecord, AuditVerification, CheckpointSource, UsageQuery,
    UsageRow,
};
use cryptoserve_client::Client;

use super::checkpoint::read_checkpoint;
use crate::admin_args::{AuditCommand, UsageArgs};
use crate::cli::Format;
use crate::error::{CliError, Result};
use crate::output::{self, fields, time, yes_no, Table};

/// Runs one `cs audit` command.
pub async fn run(client: &Client, format: Format, command: &AuditCommand) -> Result<()> {
    match command {
        AuditCommand::List(args) => {
            let rows = match (args.limit, args.after_id) {
                (None, None) => client.audit_all(args.since).await?,
                _ => {
                    let query = AuditQuery {
                        since: args.since,
                        after_id: args.after_id,
                        limit: args.limit,
                    };
                    client.audit_page(&query).await?
                }
            };
            output::show(format, &rows, |rows| render_rows(rows))
        }
        AuditCommand::Verify(args) => {
            let verification = match &args.checkpoint {
                Some(argument) => {
                    let checkpoint = read_checkpoint(argument)?;
                    client.verify_audit_against(&checkpoint).await?
                }
                None => client.verify_audit().await?,
            };
            output::show(format, &verification, render_verification)?;
            if verification.ok {
                Ok(())
            } else {
                Err(CliError::AuditBroken {
                    first_broken_id: verification.first_broken_id,
                    findings: summary(&verification),
                })
            }
        }
    }
}

/// Runs `cs usage`.
pub async fn usage(client: &Client, format: Format, args: &UsageArgs) -> Result<()> {
    let query = UsageQuery {
        context: args.context.clone(),
        identity: args.identity.clone(),
        since: args.since,
    };
    let rows = client.usage(&query).await?;
    output::show(format, &rows, |rows| render_usage(rows))
}

fn render_rows(rows: &[AuditRecord]) -> String {
    let mut table = Table::new(&[
        "ID",
        "AT",
        "ACTOR",
        "ACTION",
        "TARGET",
        "OUTCOME",
        "REQUEST ID",
    ]);
    for row in rows {
        table.row(vec![
            row.id.to_string(),
            time(&row.at),
            row.actor.clone(),
            row.action.clone(),
            row.target.clone(),
            row.outcome.clone(),
            row.request_id.clone(),
        ]);
    }
    table.render()
}

fn render_verification(verification: &AuditVerification) -> String {
    let mut out = fields(&[
        ("intact", yes_no(verification.ok)),
        ("rows_checked", verification.rows_checked.to_string()),
        (
            "last_id",
            verification
                .last_id
                .map_or_else(|| "-".to_owned(), |id| id.to_string()),
        ),
        (
            "first_broken_id",
            verification
                .first_broken_id
                .map_or_else(|| "-".to_owned(), |id| id.to_string()),
        ),
    ]);
    for checked in &verification.checkpoints {
        let source = match checked.source {
            CheckpointSource::Request => "given",
            CheckpointSource::Redis => "redis",
        };
        out.push_str(&format!(
            "checkpoint ({source}): row {} at {}{}\n",
            checked.checkpoint.sequence,
            time(&checked.checkpoint.at),
            if checked.authentic {
                ""
            } else {
                " — MAC does not verify, not used"
            }
        ));
    }
    if !verification.problems.is_empty() {
        let mut table = Table::new(&["FINDING", "ROW", "DETAIL"]);
        for problem in &verification.problems {
            table.row(vec![
                kind_name(problem.kind).to_owned(),
                problem.row_id.to_string(),
                problem.detail.clone(),
            ]);
        }
        out.push('\n');
        out.push_str(&table.render());
    }
    out
}

fn kind_name(kind: AuditProblemKind) -> &'static str {
    match kind {
        AuditProblemKind::Truncated => "truncated",
        AuditProblemKind::Rewritten => "rewritten",
        AuditProblemKind::Gap => "gap",
        AuditProblemKind::Reordered => "reordered",
    }
}

/// "truncated, gap" for the error line; a forged checkpoint when that is all there is.
fn summary(verification: &AuditVerification) -> String {
    let mut kinds: Vec<&str> = Vec::new();
    for problem in &verification.problems {
        let name = kind_name(problem.kind);
        if !kinds.contains(&name) {
            kinds.push(name);
        }
    }
    if verification.checkpoints.iter().any(|c| !c.authentic) {
        kinds.push("checkpoint MAC invalid");
    }
    kinds.join(", ")
}

fn render_usage(rows: &[UsageRow]) -> String {
    let mut table = Table::new(&[
        "MINUTE",
        "IDENTITY",
        "CONTEXT",
        "OPERATION",
        "OUTCOME",
        "COUNT",
        "BYTES",
    ]);
    for row in rows {
        table.row(vec![
            time(&row.minute),
            row.identity_id.clone(),
            row.context.clone(),
            row.operation.clone(),
            row.outcome.clone(),
            row.count.to_string(),
            row.bytes.to_string(),
        ]);
    }
    table.render()
}
