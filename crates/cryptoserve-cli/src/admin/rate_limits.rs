//! `cs rate-limit ...`.

use cryptoserve_client::api::{
    OverrideScope, PolicyBody, PolicyInForce, PolicyList, RateLimitDimension, RateLimitPolicyRecord,
};
use cryptoserve_client::Client;

use crate::admin_args::{OverrideTarget, RateLimitCommand, SetRateLimitArgs};
use crate::cli::Format;
use crate::error::{CliError, Result};
use crate::output::{self, fields, time, yes_no, Table};

/// Runs one `cs rate-limit` command.
pub async fn run(client: &Client, format: Format, command: &RateLimitCommand) -> Result<()> {
    match command {
        RateLimitCommand::Show(target) => {
            match scope_of(target.context.as_ref(), target.identity.as_ref()) {
                Some((scope, key)) => {
                    let policy = client.rate_limit(scope, key).await?;
                    output::show(format, &policy, |policy| render_in_force(scope, policy))
                }
                None => {
                    let all = client.rate_limits().await?;
                    output::show(format, &all, render_list)
                }
            }
        }
        RateLimitCommand::Set(args) => set(client, format, args).await,
        RateLimitCommand::Reset { dimension, key } => {
            let dimension = RateLimitDimension::from(*dimension);
            client.reset_rate_limit(dimension, key).await?;
            let answer = serde_json::json!({ "reset": { "dimension": dimension, "key": key } });
            output::show(format, &answer, |_| {
                format!("reset the {dimension} bucket of {key}\n")
            })
        }
        RateLimitCommand::Delete(OverrideTarget { context, identity }) => {
            let (scope, key) = scope_of(context.as_ref(), identity.as_ref()).ok_or_else(|| {
                CliError::Usage("name the override: --context NAME or --identity ID".into())
            })?;
            client.delete_rate_limit_override(scope, key).await?;
            let answer = serde_json::json!({ "deleted": { "scope": scope, "key": key } });
            output::show(format, &answer, |_| {
                format!("deleted the {scope} override of {key}; the default applies\n")
            })
        }
    }
}

async fn set(client: &Client, format: Format, args: &SetRateLimitArgs) -> Result<()> {
    let policy = PolicyBody {
        requests_per_minute: args.requests_per_minute,
        burst_size: args.burst,
        enabled: !args.disabled,
    };
    let target = &args.target;
    let record = match (
        scope_of(target.context.as_ref(), target.identity.as_ref()),
        target.default,
    ) {
        (Some((scope, key)), _) => client.set_rate_limit_override(scope, key, policy).await?,
        (None, Some(dimension)) => {
            client
                .set_rate_limit_default(dimension.into(), policy)
                .await?
        }
        (None, None) => {
            return Err(CliError::Usage(
                "name the target: --context NAME, --identity ID or --default DIMENSION".into(),
            ))
        }
    };
    output::show(format, &record, render_record)
}

/// The override scope and key named by `--context` / `--identity`, if any.
fn scope_of<'a>(
    context: Option<&'a String>,
    identity: Option<&'a String>,
) -> Option<(OverrideScope, &'a str)> {
    match (context, identity) {
        (Some(name), _) => Some((OverrideScope::Context, name.as_str())),
        (None, Some(id)) => Some((OverrideScope::Identity, id.as_str())),
        (None, None) => None,
    }
}

fn render_record(record: &RateLimitPolicyRecord) -> String {
    fields(&[
        ("scope", record.scope.to_string()),
        ("dimension", record.dimension.to_string()),
        ("key", record.key.clone()),
        (
            "requests_per_minute",
            record.requests_per_minute.to_string(),
        ),
        ("burst_size", record.burst_size.to_string()),
        ("enabled", yes_no(record.enabled)),
        ("updated_at", time(&record.updated_at)),
    ])
}

fn render_in_force(scope: OverrideScope, policy: &PolicyInForce) -> String {
    fields(&[
        (scope.as_str(), policy.key.clone()),
        (
            "source",
            if policy.is_override {
                "override"
            } else {
                "default"
            }
            .to_owned(),
        ),
        (
            "requests_per_minute",
            policy.policy.requests_per_minute.to_string(),
        ),
        ("burst_size", policy.policy.burst_size.to_string()),
        ("enabled", yes_no(policy.policy.enabled)),
    ])
}

fn render_list(list: &PolicyList) -> String {
    let mut table = Table::new(&["SCOPE", "KEY", "REQUESTS/MIN", "BURST", "ENABLED"]);
    let groups = [
        ("default", &list.defaults),
        ("context", &list.contexts),
        ("identity", &list.identities),
    ];
    for (scope, policies) in groups {
        for (key, policy) in policies {
            table.row(vec![
                scope.to_owned(),
                key.clone(),
                policy.requests_per_minute.to_string(),
                policy.burst_size.to_string(),
                yes_no(policy.enabled),
            ]);
        }
    }
    table.render()
}
