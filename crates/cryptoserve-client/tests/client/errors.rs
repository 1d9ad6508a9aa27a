//! Typed errors carry the server's code, message and request id.

use cryptoserve_client::api::{CreateContext, CreateIdentity, Role};
use cryptoserve_client::{Client, Error};

use crate::support::Server;

#[tokio::test]
async fn api_failures_map_to_their_variants_with_request_ids() {
    let server = Server::start().await;
    let client = server.client();
    client
        .create_context(&CreateContext::new("known"))
        .await
        .unwrap();

    let unknown = client.encrypt("nope", b"x").await.unwrap_err();
    let Error::UnknownContext(failure) = &unknown else {
        panic!("{unknown:?}");
    };
    assert_eq!(failure.status, 404);
    assert_eq!(failure.code, "unknown_context");
    let request_id = unknown.request_id().unwrap();
    assert_eq!(
        request_id.len(),
        32,
        "the id the client sent, echoed: {request_id}"
    );
    assert!(unknown.to_string().contains(request_id));

    let sealed = client.encrypt("known", b"secret").await.unwrap();
    let mut tampered = sealed.ciphertext.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let error = client.decrypt("known", &tampered).await.unwrap_err();
    assert!(matches!(error, Error::DecryptionFailed(_)), "{error:?}");
    assert!(error.request_id().is_some());

    let forged = server.builder().token("not-a-token").build().unwrap();
    let error = forged.encrypt("known", b"x").await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized(_)), "{error:?}");

    let service = client
        .create_identity(&CreateIdentity {
            contexts: Some(vec!["known".into()]),
            ..CreateIdentity::new("svc", Role::Service)
        })
        .await
        .unwrap();
    let service = server.builder().token(service.token).build().unwrap();
    let error = service.list_contexts().await.unwrap_err();
    assert!(matches!(error, Error::Forbidden(_)), "{error:?}");

    let error = client
        .identity("00000000-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotFound(_)), "{error:?}");
    let error = client
        .create_context(&CreateContext::new("known"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Conflict(_)), "{error:?}");
    let error = client.datakey("known", 100, true).await.unwrap_err();
    assert!(matches!(error, Error::InvalidRequest(_)), "{error:?}");
    let error = client
        .encrypt("known", &vec![0u8; 2 << 20])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::PayloadTooLarge(_)), "{error:?}");
}

#[test]
fn configuration_errors_are_typed_and_tokens_never_print() {
    let error = Client::builder().ignore_environment().build().unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error:?}");
    let client = Client::builder()
        .ignore_environment()
        .address("http://127.0.0.1:1")
        .token("super-secret-token")
        .build()
        .unwrap();
    let printed = format!("{client:?}");
    assert!(!printed.contains("super-secret"), "{printed}");
    assert!(printed.contains("[redacted]"));
}
