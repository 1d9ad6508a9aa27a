//! Which IP bucket a request lands in: the TCP peer, unless the peer is a trusted proxy.
//!
//! The ip default is set to burst 3 at one request a minute (nothing refills during a test),
//! identity and context stay at their defaults (not binding for a dozen requests), so the ip
//! bucket is the tightest and `X-RateLimit-Remaining` shows its level.

use crate::helpers::{encrypt_with, put_policy, spawn_numbered, Reply, CONTEXT};
use crate::support::{Deployment, TestApp};

const IP_BURST: u32 = 3;

async fn start(trusted: &[&str]) -> (TestApp, String) {
    let trusted: Vec<ipnet::IpNet> = trusted.iter().map(|n| n.parse().unwrap()).collect();
    let app = spawn_numbered(&Deployment::sqlite(), 1, &|s| {
        s.trusted_proxies = trusted.clone();
    })
    .await;
    let admin = app.admin_token().await;
    app.create_context(&admin, CONTEXT, "aes-256-gcm").await;
    put_policy(
        &app,
        &admin,
        "/api/admin/rate-limits/defaults/ip",
        1,
        IP_BURST,
    )
    .await;
    let token = app
        .token(cryptoserve_store::Role::Service, &[CONTEXT])
        .await;
    (app, token)
}

fn assert_ip_refusal(reply: &Reply) {
    assert_eq!(reply.status, 429, "{reply:?}");
    assert_eq!(reply.code(), "rate_limited");
    assert!(
        reply.message().contains("ip limit"),
        "names the ip dimension: {reply:?}"
    );
}

#[tokio::test]
async fn spoofed_forwarding_headers_from_an_untrusted_peer_share_the_peer_bucket() {
    let (app, token) = start(&[]).await;

    let mut replies = Vec::new();
    for i in 1..=6 {
        let forwarded = format!("198.51.100.{i}");
        let real = format!("203.0.113.{i}");
        let headers = [
            ("x-forwarded-for", forwarded.as_str()),
            ("x-real-ip", real.as_str()),
        ];
        replies.push(encrypt_with(&app, &token, &headers).await);
    }

    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429], "{replies:#?}");
    let remaining: Vec<_> = replies[..3].iter().map(|r| r.remaining).collect();
    assert_eq!(
        remaining,
        [Some(2), Some(1), Some(0)],
        "one bucket: {replies:#?}"
    );
    replies[3..].iter().for_each(assert_ip_refusal);
}

#[tokio::test]
async fn forwarding_headers_from_a_trusted_proxy_give_each_client_its_own_bucket() {
    let (app, token) = start(&["127.0.0.1/32"]).await;

    // Six different clients behind the proxy: six fresh buckets.
    for i in 1..=6 {
        let client = format!("198.51.100.{i}");
        let reply = encrypt_with(&app, &token, &[("x-forwarded-for", client.as_str())]).await;
        assert_eq!(reply.status, 200, "client {client}: {reply:?}");
        assert_eq!(
            reply.remaining,
            Some(u64::from(IP_BURST) - 1),
            "client {client}"
        );
    }
    // One of them uses up its bucket; a forged left part of the chain does not help.
    let client = [("x-forwarded-for", "198.51.100.1")];
    let forged = [("x-forwarded-for", "6.6.6.6, 198.51.100.1")];
    assert_eq!(encrypt_with(&app, &token, &client).await.remaining, Some(1));
    assert_eq!(encrypt_with(&app, &token, &forged).await.remaining, Some(0));
    assert_ip_refusal(&encrypt_with(&app, &token, &client).await);
    assert_ip_refusal(&encrypt_with(&app, &token, &forged).await);
    // X-Real-IP counts when there is no X-Forwarded-For.
    let real = [("x-real-ip", "198.51.100.1")];
    assert_ip_refusal(&encrypt_with(&app, &token, &real).await);
    // Others, and the proxy itself (no header), are unaffected.
    let other = [("x-forwarded-for", "198.51.100.2")];
    assert_eq!(encrypt_with(&app, &token, &other).await.remaining, Some(1));
    let direct = encrypt_with(&app, &token, &[]).await;
    assert_eq!(direct.status, 200);
    assert_eq!(direct.remaining, Some(u64::from(IP_BURST) - 1));
}
