//! Failover, rate-limit waits, and admin writes that are never sent twice.

use std::time::{Duration, Instant};

use cryptoserve_client::api::{CreateContext, CreateIdentity, OverrideScope, PolicyBody, Role};
use cryptoserve_client::{Client, Error, RetryPolicy};

use crate::support::{dead_address, Fake, FakeServer, Server};

fn client_for(server: &Server, addresses: &[&str]) -> Client {
    Client::builder()
        .ignore_environment()
        .addresses(addresses.iter().copied())
        .token(&server.admin_token)
        .build()
        .unwrap()
}

async fn context_exists(server: &Server, name: &str) -> bool {
    let contexts = server.client().list_contexts().await.unwrap();
    contexts.iter().any(|context| context.name == name)
}

#[tokio::test]
async fn a_dead_first_address_fails_over_to_the_second() {
    let server = Server::start().await;
    let dead = dead_address();
    let client = client_for(&server, &[&dead, &server.address]);
    // Nothing was sent to the dead address, so even an admin write may move on.
    client
        .create_context(&CreateContext::new("failover"))
        .await
        .unwrap();
    let sealed = client.encrypt("failover", b"hello").await.unwrap();
    assert_eq!(
        client
            .decrypt("failover", &sealed.ciphertext)
            .await
            .unwrap(),
        b"hello"
    );
    assert_eq!(client.live().await.unwrap().status, "alive");

    let readiness = client.readiness().await;
    assert!(matches!(readiness[0].result, Err(Error::Transport { .. })));
    assert_eq!(readiness[1].result.as_ref().unwrap().status, "ready");

    let only_dead = client_for(&server, &[&dead]);
    let error = only_dead.live().await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
}

#[tokio::test]
async fn a_503_moves_safe_calls_on_but_not_admin_writes() {
    let server = Server::start().await;
    server
        .client()
        .create_context(&CreateContext::new("orders"))
        .await
        .unwrap();
    let draining = FakeServer::start(Fake::Unavailable).await;
    let client = client_for(&server, &[&draining.address, &server.address]);

    let sealed = client.encrypt("orders", b"x").await.unwrap();
    assert_eq!(draining.requests(), 1, "the 503 instance was asked first");
    client.decrypt("orders", &sealed.ciphertext).await.unwrap();

    // A fresh client starts at the first address again; an admin write stops at its 503.
    let client = client_for(&server, &[&draining.address, &server.address]);
    let error = client
        .create_context(&CreateContext::new("never-twice"))
        .await
        .unwrap_err();
    let Error::ServiceUnavailable(failure) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(failure.request_id.as_deref(), Some("fake-1"));
    assert_eq!(draining.requests(), 2);
    assert!(!context_exists(&server, "never-twice").await);
}

#[tokio::test]
async fn a_lost_answer_is_repeated_for_crypto_but_never_for_admin_writes() {
    let server = Server::start().await;
    server
        .client()
        .create_context(&CreateContext::new("orders"))
        .await
        .unwrap();
    let hang_up = FakeServer::start(Fake::HangUp).await;

    let client = client_for(&server, &[&hang_up.address, &server.address]);
    client.encrypt("orders", b"x").await.unwrap();
    assert_eq!(hang_up.requests(), 1);

    let client = client_for(&server, &[&hang_up.address, &server.address]);
    let error = client
        .create_context(&CreateContext::new("maybe-applied"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(hang_up.requests(), 2);
    assert!(
        !context_exists(&server, "maybe-applied").await,
        "an admin write that may have reached a server was sent again"
    );
}

#[tokio::test]
async fn rate_limited_calls_wait_for_retry_after_then_fail_typed() {
    let server = Server::start().await;
    let admin = server.client();
    admin
        .create_context(&CreateContext::new("limited"))
        .await
        .unwrap();
    let created = admin
        .create_identity(&CreateIdentity {
            contexts: Some(vec!["limited".into()]),
            ..CreateIdentity::new("tight", Role::Service)
        })
        .await
        .unwrap();
    // One request per second, no burst beyond one.
    admin
        .set_rate_limit_override(
            OverrideScope::Identity,
            &created.identity.id,
            PolicyBody::new(60, 1),
        )
        .await
        .unwrap();
    let waiting = server
        .builder()
        .token(created.token.clone())
        .build()
        .unwrap();
    waiting.encrypt("limited", b"first").await.unwrap();
    let started = Instant::now();
    waiting.encrypt("limited", b"second").await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(500),
        "the second call should have waited for Retry-After, took {waited:?}"
    );

    let impatient = server
        .builder()
        .token(created.token.clone())
        .retry_policy(RetryPolicy::no_waits())
        .build()
        .unwrap();
    let error = impatient.encrypt("limited", b"third").await.unwrap_err();
    let Error::RateLimited {
        retry_after,
        failure,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert!(
        retry_after.is_some_and(|d| d <= Duration::from_secs(1)),
        "{retry_after:?}"
    );
    assert_eq!(failure.status, 429);
    assert!(error.request_id().is_some());

    // A Retry-After longer than allowed is returned at once too.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let short = server
        .builder()
        .token(created.token)
        .retry_policy(RetryPolicy {
            max_rate_limit_waits: 3,
            max_rate_limit_wait: Duration::from_millis(100),
        })
        .build()
        .unwrap();
    short.encrypt("limited", b"fourth").await.unwrap();
    let started = Instant::now();
    let error = short.encrypt("limited", b"fifth").await.unwrap_err();
    assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_millis(500));
}
