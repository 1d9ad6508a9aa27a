//! Health probes (`/health/...`, no token except `deep` in production), and readiness of
//! every configured address one by one.

use reqwest::{StatusCode, Url};

use cryptoserve_api::{Deep, Live, Ready};

use crate::error::Result;
use crate::transport::{Attempt, Call};
use crate::{Client, Error};

/// One address's answer to `/health/ready`.
#[derive(Debug)]
pub struct InstanceReadiness {
    /// The base address asked.
    pub address: Url,
    /// Its readiness body (`status` `ready`, or `not_ready` with a 503), or why there was
    /// none.
    pub result: Result<Ready>,
}

impl Client {
    /// `/health/live` of the first address that answers.
    pub async fn live(&self) -> Result<Live> {
        self.call(Call::get(&["health", "live"])).await
    }

    /// `/health/ready` of the first address that is ready (a 503 moves on to the next).
    pub async fn ready(&self) -> Result<Ready> {
        self.call(Call::get(&["health", "ready"])).await
    }

    /// `/health/deep`: database, Redis, crypto self-test, keyring ids, warnings.
    pub async fn deep(&self) -> Result<Deep> {
        self.call(Call::get(&["health", "deep"])).await
    }

    /// Asks every address for `/health/ready` once, without failover: one entry per address,
    /// in order (for a status overview of a cluster).
    pub async fn readiness(&self) -> Vec<InstanceReadiness> {
        let call = Call::get(&["health", "ready"]);
        let mut all = Vec::with_capacity(self.inner.addresses.len());
        for (index, address) in self.inner.addresses.iter().enumerate() {
            let request_id = uuid::Uuid::new_v4().simple().to_string();
            let span = tracing::info_span!(
                "cryptoserve.request",
                method = "GET",
                path = "/health/ready",
                attempt = 1,
                address = %address,
            );
            let attempt =
                tracing::Instrument::instrument(self.attempt(index, &call, &request_id), span)
                    .await;
            let result = match attempt {
                Attempt::Answered(answer)
                    if answer.status.is_success()
                        || answer.status == StatusCode::SERVICE_UNAVAILABLE =>
                {
                    answer.decode()
                }
                Attempt::Answered(answer) => Err(answer.into_error()),
                Attempt::NotSent(source) | Attempt::Lost(source) => Err(Error::Transport {
                    address: address.to_string(),
                    source,
                }),
                Attempt::Refused(error) => Err(error),
            };
            all.push(InstanceReadiness {
                address: address.clone(),
                result,
            });
        }
        all
    }
}
