//! Typed calls the drills make besides the load: admin API, metrics, readiness.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

/// An HTTP client bound to a base URL and a bearer token. Its client trusts only the
/// cluster's CA and carries the cluster's client certificate, so the same client reaches
/// nginx, a backend's TLS port (mutual TLS) and a backend's plain ops port.
#[derive(Debug, Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

/// Status and parsed JSON body (`Value::Null` when the body was not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Api {
    /// `tls`: the CA certificate, client certificate and client key.
    pub fn new(base: impl Into<String>, token: impl Into<String>, tls: [&Path; 3]) -> Self {
        let [ca_cert, client_cert, client_key] = tls;
        let builder = reqwest::Client::builder().timeout(Duration::from_secs(15));
        let builder = super::trusting_only(builder, ca_cert);
        let client = super::with_client_cert(builder, client_cert, client_key)
            .build()
            .unwrap();
        Self {
            client,
            base: base.into(),
            token: token.into(),
        }
    }

    /// The same client and token against another base URL (a backend's TLS or ops port).
    pub fn at(&self, base: impl Into<String>) -> Self {
        Self {
            client: self.client.clone(),
            base: base.into(),
            token: self.token.clone(),
        }
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request reached the server");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    pub async fn create_context(&self, name: &str) -> Answer {
        self.send(
            reqwest::Method::POST,
            "/api/admin/contexts",
            Some(json!({ "name": name })),
        )
        .await
    }

    /// Raises one default limit so the drills measure availability, not limiting.
    pub async fn raise_default_limit(&self, dimension: &str) -> Answer {
        self.send(
            reqwest::Method::PUT,
            &format!("/api/admin/rate-limits/defaults/{dimension}"),
            Some(json!({ "requests_per_minute": 10_000_000, "burst_size": 1_000_000, "enabled": true })),
        )
        .await
    }

    /// Every default limit out of the way (the drills measure availability), then the drill's
    /// context created; panics if either is refused.
    pub async fn prepare_drill(&self, context: &str) {
        for dimension in ["ip", "identity", "context"] {
            let answer = self.raise_default_limit(dimension).await;
            assert_eq!(
                answer.status, 200,
                "raising the {dimension} limit: {answer:?}"
            );
        }
        let answer = self.create_context(context).await;
        assert_eq!(answer.status, 201, "creating the drill context: {answer:?}");
    }

    pub async fn audit(&self) -> Answer {
        self.send(reqwest::Method::GET, "/api/admin/audit?limit=1000", None)
            .await
    }

    pub async fn audit_verify(&self) -> Answer {
        self.send(reqwest::Method::GET, "/api/admin/audit/verify", None)
            .await
    }

    pub async fn decrypt(&self, context: &str, ciphertext: &str) -> Answer {
        self.send(
            reqwest::Method::POST,
            "/api/v1/crypto/decrypt",
            Some(json!({ "context": context, "ciphertext": ciphertext })),
        )
        .await
    }

    /// `/metrics` of this URL (a backend's ops port) as text.
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("metrics reachable")
            .text()
            .await
            .unwrap_or_default()
    }

    /// `/health/ready` status and body.
    pub async fn ready(&self) -> Answer {
        self.send(reqwest::Method::GET, "/health/ready", None).await
    }
}

/// Crypto requests a backend has answered with 200 since it started.
pub fn crypto_ok(text: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with("cryptoserve_http_requests_total{"))
        .filter(|line| line.contains("/api/v1/crypto/") && line.contains("status=\"200\""))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
