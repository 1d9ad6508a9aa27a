//! Every response carries `X-Request-ID`: a sane client-supplied one is echoed, anything else
//! is replaced by a fresh id.

use crate::errors::app_with_context;
use crate::helpers::request_id;
use crate::support::error_code;

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let (app, admin) = app_with_context().await;
    let send = |id: Option<&str>, path: &str| {
        let mut request = app.client.get(format!("{}{path}", app.address));
        if let Some(id) = id {
            request = request.header("X-Request-ID", id);
        }
        request.bearer_auth(&admin).send()
    };

    // Successes and every kind of error carry one, and they differ per request.
    let mut seen = std::collections::HashSet::new();
    for path in [
        "/health/live",
        "/api/admin/contexts",
        "/nope",
        "/api/v1/crypto/encrypt",
    ] {
        let response = send(None, path).await.unwrap();
        let id = request_id(&response);
        assert!(!id.is_empty(), "{path}");
        assert!(seen.insert(id), "{path}: request ids repeat");
    }
    let response = app
        .client
        .get(format!("{}/api/admin/contexts", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(response).await, (401, "unauthorized".into()));

    // A sane client id is echoed, in the header and in error bodies.
    let response = send(Some("trace-01.abc_DEF-9"), "/api/admin/contexts")
        .await
        .unwrap();
    assert_eq!(request_id(&response), "trace-01.abc_DEF-9");
    let response = send(Some("trace-02"), "/nope").await.unwrap();
    assert_eq!(request_id(&response), "trace-02");
    assert_eq!(error_code(response).await, (404, "not_found".into()));

    // An insane one is replaced.
    let long = "a".repeat(200);
    for insane in [long.as_str(), "has spaces in it", "semi;colon", "quote\"d"] {
        let response = send(Some(insane), "/api/admin/contexts").await.unwrap();
        let id = request_id(&response);
        assert_ne!(id, insane);
        assert!(!id.is_empty() && id.len() <= 64, "{id}");
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
    }
}
