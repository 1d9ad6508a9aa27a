//! The three refusals drill 7 checks, each on a client of its own: a client without the
//! cluster's CA, plain HTTP to nginx's TLS port, a backend's API without a client certificate.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

/// A client with the built-in public roots only, no cluster CA.
fn public_roots_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// `GET <url>/health/ready` from a client that does not trust the cluster's CA; the error
/// chain of the refusal (panics if it was answered).
pub fn refused_without_the_ca(runtime: &tokio::runtime::Runtime, url: &str) -> String {
    let answer = runtime.block_on(async {
        public_roots_client()
            .get(format!("{url}/health/ready"))
            .send()
            .await
    });
    let error = answer.expect_err("a client without the cluster CA must refuse nginx");
    error_chain(&error)
}

/// An encrypt request, bearer token and plaintext included, in plain HTTP to nginx's TLS
/// port: status and JSON body of nginx's answer.
pub fn plain_http_to(
    runtime: &tokio::runtime::Runtime,
    nginx_port: u16,
    token: &str,
    context: &str,
) -> (u16, Value) {
    let url = format!("http://127.0.0.1:{nginx_port}/api/v1/crypto/encrypt");
    runtime.block_on(async {
        let response = public_roots_client()
            .post(&url)
            .bearer_auth(token)
            .json(&json!({ "context": context, "plaintext": "aGk=" }))
            .send()
            .await
            .expect("nginx answers plain HTTP on its TLS port");
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    })
}

/// `GET <backend_url>/health/live` trusting the CA but without a client certificate; the
/// error chain of the refusal (panics if it was answered).
pub fn refused_without_a_client_cert(
    runtime: &tokio::runtime::Runtime,
    backend_url: &str,
    ca_cert: &Path,
) -> String {
    let anonymous = super::trusting_only(reqwest::Client::builder(), ca_cert)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let answer = runtime.block_on(async {
        let response = anonymous
            .get(format!("{backend_url}/health/live"))
            .send()
            .await?;
        response.text().await
    });
    match answer {
        Ok(body) => panic!("{backend_url} answered a client without a certificate: {body}"),
        Err(error) => error_chain(&error),
    }
}

/// An error and its sources on one line (reqwest hides the TLS reason in the chain).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
