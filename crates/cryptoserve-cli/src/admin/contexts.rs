//! `cs context ...`.

use cryptoserve_client::api::{ConfigureContext, ContextDetail, ContextRecord, CreateContext};
use cryptoserve_client::Client;

use crate::admin_args::{ConfigureContextArgs, ContextCommand, CreateContextArgs};
use crate::cli::Format;
use crate::error::Result;
use crate::output::{self, fields, time, yes_no, Table};

/// Runs one `cs context` command.
pub async fn run(client: &Client, format: Format, command: &ContextCommand) -> Result<()> {
    match command {
        ContextCommand::Create(args) => {
            let created = client.create_context(&create_body(args)).await?;
            output::show(format, &created, render_record)
        }
        ContextCommand::List => {
            let contexts = client.list_contexts().await?;
            output::show(format, &contexts, |contexts| render_list(contexts))
        }
        ContextCommand::Show { name } => {
            let detail = client.context(name).await?;
            output::show(format, &detail, render_detail)
        }
        ContextCommand::Rotate { name } => {
            let rotated = client.rotate_context(name).await?;
            output::show(format, &rotated, render_record)
        }
        ContextCommand::SetMinVersion { name, version } => {
            let changed = client.set_min_decryption_version(name, *version).await?;
            output::show(format, &changed, render_record)
        }
        ContextCommand::Configure(args) => {
            let changed = client
                .configure_context(&args.name, &configure_body(args))
                .await?;
            output::show(format, &changed, render_record)
        }
        ContextCommand::Delete { name, .. } => {
            client.delete_context(name).await?;
            let answer = serde_json::json!({ "deleted": name });
            output::show(format, &answer, |_| format!("deleted context {name}\n"))
        }
    }
}

fn create_body(args: &CreateContextArgs) -> CreateContext {
    CreateContext {
        description: args.description.clone(),
        algorithm: args.algorithm.clone(),
        derived: args.derived.then_some(true),
        convergent: args.convergent.then_some(true),
        deletion_allowed: args.deletion_allowed.then_some(true),
        auto_rotate_period_secs: args.auto_rotate_period,
        ..CreateContext::new(args.name.clone())
    }
}

fn configure_body(args: &ConfigureContextArgs) -> ConfigureContext {
    ConfigureContext {
        min_decryption_version: args.min_decryption_version,
        min_encryption_version: args.min_encryption_version,
        deletion_allowed: args.deletion_allowed,
        auto_rotate_period_secs: args.auto_rotate_period,
    }
}

fn record_fields(context: &ContextRecord) -> Vec<(&'static str, String)> {
    vec![
        ("name", context.name.clone()),
        ("description", context.description.clone()),
        ("algorithm", context.algorithm.to_string()),
        ("current_version", context.current_version.to_string()),
        (
            "min_decryption_version",
            context.min_decryption_version.to_string(),
        ),
        (
            "min_encryption_version",
            context.min_encryption_version.to_string(),
        ),
        ("derived", yes_no(context.derived)),
        ("convergent", yes_no(context.convergent)),
        ("deletion_allowed", yes_no(context.deletion_allowed)),
        (
            "auto_rotate_period",
            match context.auto_rotate_period_secs {
                0 => "never".to_owned(),
                secs => format!("{secs} s"),
            },
        ),
        ("created_at", time(&context.created_at)),
        ("updated_at", time(&context.updated_at)),
    ]
}

fn render_record(context: &ContextRecord) -> String {
    fields(&record_fields(context))
}

fn render_detail(detail: &ContextDetail) -> String {
    let mut text = fields(&record_fields(&detail.context));
    let mut versions = Table::new(&["VERSION", "STATUS", "MASTER KEY", "CREATED"]);
    for version in &detail.key_versions {
        versions.row(vec![
            version.version.to_string(),
            version.status.to_string(),
            version.master_key_id.clone(),
            time(&version.created_at),
        ]);
    }
    text.push('\n');
    text.push_str(&versions.render());
    text
}

fn render_list(contexts: &[ContextRecord]) -> String {
    let mut table = Table::new(&[
        "NAME",
        "ALGORITHM",
        "VERSION",
        "MIN DECRYPT",
        "DELETABLE",
        "CREATED",
        "DESCRIPTION",
    ]);
    for context in contexts {
        table.row(vec![
            context.name.clone(),
            context.algorithm.to_string(),
            context.current_version.to_string(),
            context.min_decryption_version.to_string(),
            yes_no(context.deletion_allowed),
            time(&context.created_at),
            context.description.clone(),
        ]);
    }
    table.render()
}
