//! `cs status`: `/health/ready` of every configured address, one line each, no failover.

use cryptoserve_client::api::Ready;
use cryptoserve_client::{Client, InstanceReadiness};
use serde::Serialize;

use crate::cli::Format;
use crate::error::{CliError, Result};
use crate::output::{self, Table};

/// One instance, as printed.
#[derive(Debug, Serialize)]
struct InstanceStatus {
    address: String,
    ready: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    readiness: Option<Ready>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_code: Option<u8>,
}

impl From<InstanceReadiness> for InstanceStatus {
    fn from(instance: InstanceReadiness) -> Self {
        let address = instance.address.to_string();
        match instance.result {
            Ok(ready) => Self {
                address,
                ready: ready.status == "ready" && !ready.draining,
                readiness: Some(ready),
                error: None,
                exit_code: None,
            },
            Err(error) => {
                let error = CliError::from(error);
                Self {
                    address,
                    ready: false,
                    readiness: None,
                    error: Some(error.to_string()),
                    exit_code: Some(error.exit_code()),
                }
            }
        }
    }
}

/// Runs `cs status`; fails (exit 6) unless every instance is ready.
pub async fn run(client: &Client, format: Format) -> Result<()> {
    let instances: Vec<InstanceStatus> = client
        .readiness()
        .await
        .into_iter()
        .map(InstanceStatus::from)
        .collect();
    output::show(format, &instances, |instances| render(instances))?;
    let not_ready = instances.iter().filter(|instance| !instance.ready).count();
    if not_ready == 0 {
        Ok(())
    } else {
        Err(CliError::NotReady {
            not_ready,
            total: instances.len(),
        })
    }
}

fn render(instances: &[InstanceStatus]) -> String {
    let mut table = Table::new(&[
        "ADDRESS", "STATUS", "INSTANCE", "DATABASE", "KEYRING", "REDIS", "DETAIL",
    ]);
    for instance in instances {
        let row = match (&instance.readiness, &instance.error) {
            (Some(ready), _) => {
                let status = if ready.draining {
                    "draining".to_owned()
                } else {
                    ready.status.clone()
                };
                vec![
                    instance.address.clone(),
                    status,
                    ready.instance_id.clone(),
                    check(&ready.checks.database),
                    check(&ready.checks.keyring),
                    check(&ready.checks.redis),
                    String::new(),
                ]
            }
            (None, error) => vec![
                instance.address.clone(),
                match instance.exit_code {
                    Some(crate::error::EXIT_UNAVAILABLE) => "unreachable".to_owned(),
                    _ => "error".to_owned(),
                },
                "-".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
                "-".to_owned(),
                error.clone().unwrap_or_default(),
            ],
        };
        table.row(row);
    }
    table.render()
}

fn check(check: &cryptoserve_client::api::Check) -> String {
    format!("{} {:.1}ms", check.status, check.latency_ms)
}
