//! `cs identity ...` and `cs token revoke`.

use cryptoserve_client::api::{CreateIdentity, IdentityRecord};
use cryptoserve_client::Client;
use zeroize::Zeroizing;

use crate::admin_args::{IdentityCommand, TokenCommand};
use crate::cli::Format;
use crate::error::{CliError, Result};
use crate::io::Source;
use crate::output::{self, fields, maybe_time, time, Table};

/// Runs one `cs identity` command.
pub async fn run(client: &Client, format: Format, command: &IdentityCommand) -> Result<()> {
    match command {
        IdentityCommand::Create(args) => {
            let body = CreateIdentity {
                name: args.name.clone(),
                role: args.role.clone(),
                contexts: args.contexts.clone(),
                expires_in_days: args.expires_in_days,
            };
            let created = client.create_identity(&body).await?;
            let token = Zeroizing::new(created.token.clone());
            match format {
                Format::Json => output::json(&created),
                Format::Text => {
                    // The token alone on stdout, so `TOKEN=$(cs identity create ...)` works;
                    // what was created goes to stderr for the person at the terminal.
                    let identity = &created.identity;
                    output::note(&format!(
                        "created identity {} ({}, role {}, contexts {})",
                        identity.id,
                        identity.name,
                        identity.role,
                        identity.allowed_contexts.join(",")
                    ));
                    output::text(&format!("{}\n", token.as_str()))
                }
            }
        }
        IdentityCommand::List => {
            let identities = client.list_identities().await?;
            output::show(format, &identities, |all| render_list(all))
        }
        IdentityCommand::Show { id } => {
            let identity = client.identity(id).await?;
            output::show(format, &identity, render_record)
        }
        IdentityCommand::Revoke { id } => {
            let revoked = client.revoke_identity(id).await?;
            output::show(format, &revoked, render_record)
        }
    }
}

/// Runs one `cs token` command.
pub async fn run_token(client: &Client, format: Format, command: &TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Revoke { token } => {
            let token = match token.as_deref() {
                Some(token) if token != "-" => Zeroizing::new(token.to_owned()),
                _ => {
                    let bytes = Source::open(None)?.read_all()?;
                    let text = std::str::from_utf8(&bytes)
                        .map_err(|_| CliError::BadInput("the token is not text".into()))?;
                    Zeroizing::new(text.trim().to_owned())
                }
            };
            if token.is_empty() {
                return Err(CliError::Usage(
                    "no token: pass it on stdin or as an argument".into(),
                ));
            }
            let revoked = client.revoke_token(&token).await?;
            output::show(format, &revoked, |revoked| {
                fields(&[
                    ("revoked_token", revoked.revoked.jti.clone()),
                    ("identity", revoked.revoked.identity_id.clone()),
                ])
            })
        }
    }
}

fn render_record(identity: &IdentityRecord) -> String {
    fields(&[
        ("id", identity.id.clone()),
        ("name", identity.name.clone()),
        ("role", identity.role.to_string()),
        ("contexts", identity.allowed_contexts.join(",")),
        ("created_at", time(&identity.created_at)),
        ("expires_at", maybe_time(identity.expires_at.as_ref())),
        ("revoked_at", maybe_time(identity.revoked_at.as_ref())),
    ])
}

fn render_list(identities: &[IdentityRecord]) -> String {
    let mut table = Table::new(&[
        "ID", "NAME", "ROLE", "CONTEXTS", "CREATED", "EXPIRES", "REVOKED",
    ]);
    for identity in identities {
        table.row(vec![
            identity.id.clone(),
            identity.name.clone(),
            identity.role.to_string(),
            identity.allowed_contexts.join(","),
            time(&identity.created_at),
            maybe_time(identity.expires_at.as_ref()),
            maybe_time(identity.revoked_at.as_ref()),
        ]);
    }
    table.render()
}
