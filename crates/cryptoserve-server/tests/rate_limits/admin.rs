//! The rate-limit admin API: validation (400), unknown dimensions (404), falling back to the
//! default after DELETE, bucket resets, and the audit trail of every change.

use serde_json::{json, Value};

use cryptoserve_testkit::redis::{RedisCluster, RedisServer};

use crate::helpers::{blocking, encrypt, put_policy, Fleet, CONTEXT};
use crate::support::{error_code, Deployment};

fn policy(rpm: Value, burst: Value) -> Value {
    json!({ "requests_per_minute": rpm, "burst_size": burst, "enabled": true })
}

#[tokio::test]
async fn out_of_range_and_malformed_policies_are_refused_with_400() {
    let fleet = Fleet::start(Deployment::sqlite(), 1, |_| {}).await;
    let (app, admin) = (&fleet.apps[0], &fleet.admin);
    let (_, id) = fleet.identity().await;
    let before: Value = app
        .get("/api/admin/rate-limits", Some(admin))
        .await
        .json()
        .await
        .unwrap();
    let invalid = [
        policy(json!(0), json!(10)),
        policy(json!(60), json!(0)),
        policy(json!(-5), json!(10)),
        policy(json!(60), json!(-1)),
        policy(json!(10_000_001), json!(10)),
        policy(json!(60), json!(1_000_001)),
        policy(json!(4_294_967_296_u64), json!(10)),
        policy(json!(1e12), json!(10)),
        policy(json!(1.5), json!(10)),
        policy(json!(60), json!(2.5)),
        policy(json!("100"), json!(10)),
        policy(json!(null), json!(10)),
        json!({ "requests_per_minute": 60 }),
        json!({ "requests_per_minute": 60, "burst_size": 10, "enabled": "yes" }),
    ];
    let paths = [
        format!("/api/admin/rate-limits/identity/{id}"),
        format!("/api/admin/rate-limits/context/{CONTEXT}"),
        "/api/admin/rate-limits/defaults/identity".to_owned(),
        "/api/admin/rate-limits/defaults/ip".to_owned(),
    ];
    for path in &paths {
        for body in &invalid {
            let (status, code) = error_code(app.put(path, admin, body).await).await;
            assert_eq!(status, 400, "PUT {path} {body}");
            assert!(
                code == "invalid_request" || code == "invalid_json",
                "PUT {path} {body}: {code}"
            );
        }
    }
    let long_key = format!("/api/admin/rate-limits/identity/{}", "k".repeat(129));
    let response = app
        .put(&long_key, admin, &policy(json!(60), json!(10)))
        .await;
    assert_eq!(
        error_code(response).await.0,
        400,
        "keys are at most 128 characters"
    );
    let after: Value = app
        .get("/api/admin/rate-limits", Some(admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before, after, "refused changes changed nothing");

    // The bounds themselves are valid.
    for (rpm, burst) in [(1, 1), (10_000_000, 1_000_000)] {
        put_policy(app, admin, &paths[0], rpm, burst).await;
    }
}

#[tokio::test]
async fn unknown_dimensions_and_scopes_are_404() {
    let fleet = Fleet::start(Deployment::sqlite(), 1, |_| {}).await;
    let (app, admin) = (&fleet.apps[0], &fleet.admin);
    let body = policy(json!(60), json!(10));
    let responses = [
        (
            "PUT defaults/region",
            app.put("/api/admin/rate-limits/defaults/region", admin, &body)
                .await,
        ),
        (
            "GET region/x",
            app.get("/api/admin/rate-limits/region/x", Some(admin))
                .await,
        ),
        (
            "PUT region/x",
            app.put("/api/admin/rate-limits/region/x", admin, &body)
                .await,
        ),
        (
            "DELETE region/x",
            app.delete("/api/admin/rate-limits/region/x", admin).await,
        ),
        (
            "PUT ip/1.2.3.4",
            app.put("/api/admin/rate-limits/ip/1.2.3.4", admin, &body)
                .await,
        ),
        (
            "POST reset/region/x",
            app.post("/api/admin/rate-limits/reset/region/x", admin, &json!({}))
                .await,
        ),
    ];
    for (call, response) in responses {
        assert_eq!(
            error_code(response).await,
            (404, "not_found".to_owned()),
            "{call}"
        );
    }
}

#[tokio::test]
async fn deleting_an_override_falls_back_to_the_default() {
    let fleet = Fleet::start(Deployment::sqlite(), 1, |_| {}).await;
    let (app, admin) = (&fleet.apps[0], &fleet.admin);
    let (token, id) = fleet.identity().await;
    let path = format!("/api/admin/rate-limits/identity/{id}");
    let show = || async {
        let shown: Value = app.get(&path, Some(admin)).await.json().await.unwrap();
        shown
    };

    fleet.limit_identity(&id, 7, 3).await;
    let shown = show().await;
    assert_eq!(
        (
            shown["override"].clone(),
            shown["policy"]["requests_per_minute"].clone()
        ),
        (json!(true), json!(7))
    );
    assert_eq!(encrypt(app, &token).await.limit, Some(7));

    assert_eq!(app.delete(&path, admin).await.status(), 204);
    let shown = show().await;
    assert_eq!(shown["override"], false, "{shown}");
    assert_eq!(
        shown["policy"],
        policy(json!(100), json!(20)),
        "the built-in default"
    );
    assert_eq!(encrypt(app, &token).await.limit, Some(100));
    let (status, _) = error_code(app.delete(&path, admin).await).await;
    assert_eq!(status, 404, "nothing left to delete");

    // The fallback is the current default, not the built-in one.
    put_policy(
        app,
        admin,
        "/api/admin/rate-limits/defaults/identity",
        150,
        30,
    )
    .await;
    assert_eq!(show().await["policy"], policy(json!(150), json!(30)));
    assert_eq!(encrypt(app, &token).await.limit, Some(150));
    let listed: Value = app
        .get("/api/admin/rate-limits", Some(admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["defaults"]["identity"],
        policy(json!(150), json!(30))
    );
    assert!(listed["identities"].get(&id).is_none(), "{listed}");
}

async fn a_reset_refills_the_bucket(deployment: Deployment) {
    let fleet = Fleet::start(deployment, 1, |_| {}).await;
    let app = &fleet.apps[0];
    let (token, id) = fleet.identity().await;
    fleet.limit_identity(&id, 1, 2).await;
    for expected in [200, 200, 429] {
        assert_eq!(encrypt(app, &token).await.status, expected);
    }

    fleet.reset_identity(&id).await;

    let reply = encrypt(app, &token).await;
    assert_eq!((reply.status, reply.remaining), (200, Some(1)), "{reply:?}");
}

#[tokio::test]
async fn a_reset_refills_the_bucket_embedded() {
    a_reset_refills_the_bucket(Deployment::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_refills_the_bucket_on_redis() {
    let redis = blocking(|| RedisServer::start().expect("redis-server starts")).await;
    a_reset_refills_the_bucket(Deployment::sqlite().with_redis(redis.url())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_refills_the_bucket_on_a_redis_cluster() {
    let cluster = blocking(|| RedisCluster::start(3).expect("redis cluster starts")).await;
    a_reset_refills_the_bucket(Deployment::sqlite().with_redis(cluster.url())).await;
}

#[tokio::test]
async fn a_disabled_policy_does_not_limit() {
    let fleet = Fleet::start(Deployment::sqlite(), 1, |_| {}).await;
    let (app, admin) = (&fleet.apps[0], &fleet.admin);
    let (token, id) = fleet.identity().await;
    let path = format!("/api/admin/rate-limits/identity/{id}");
    let disabled = json!({ "requests_per_minute": 1, "burst_size": 1, "enabled": false });
    assert_eq!(app.put(&path, admin, &disabled).await.status(), 200);
    let shown: Value = app.get(&path, Some(admin)).await.json().await.unwrap();
    assert_eq!(shown["policy"], disabled, "{shown}");

    for attempt in 0..5 {
        let reply = encrypt(app, &token).await;
        assert_eq!(reply.status, 200, "attempt {attempt}: {reply:?}");
        assert_ne!(
            reply.limit,
            Some(1),
            "the disabled policy is not reported: {reply:?}"
        );
    }
    // Enabled again, it limits at once.
    fleet.limit_identity(&id, 1, 1).await;
    let statuses = [
        encrypt(app, &token).await.status,
        encrypt(app, &token).await.status,
    ];
    assert_eq!(statuses, [200, 429]);
}

#[tokio::test]
async fn every_rate_limit_change_is_audited() {
    let fleet = Fleet::start(Deployment::sqlite(), 1, |_| {}).await;
    let (app, admin) = (&fleet.apps[0], &fleet.admin);
    let (_, id) = fleet.identity().await;
    let identity_path = format!("/api/admin/rate-limits/identity/{id}");
    let context_path = format!("/api/admin/rate-limits/context/{CONTEXT}");

    put_policy(
        app,
        admin,
        "/api/admin/rate-limits/defaults/identity",
        90,
        9,
    )
    .await;
    put_policy(app, admin, &identity_path, 80, 8).await;
    put_policy(app, admin, &context_path, 70, 7).await;
    assert_eq!(app.delete(&identity_path, admin).await.status(), 204);
    assert_eq!(app.delete(&context_path, admin).await.status(), 204);
    let reset = format!("/api/admin/rate-limits/reset/identity/{id}");
    assert_eq!(app.post(&reset, admin, &json!({})).await.status(), 204);

    let audit: Value = app
        .get("/api/admin/audit?limit=1000", Some(admin))
        .await
        .json()
        .await
        .unwrap();
    let entries = audit["entries"].as_array().expect("entries");
    let find = |words: &[&str], target: &str| {
        entries.iter().find(|e| {
            let action = e["action"].as_str().unwrap_or("");
            action.starts_with("rate_limit")
                && words.iter().all(|w| action.contains(w))
                && e["target"] == target
                && e["outcome"] == "success"
        })
    };
    let expectations: [(&[&str], &str, Option<u32>); 6] = [
        (&["default", "identity", "put"], "", Some(90)),
        (&["identity", "put"], &id, Some(80)),
        (&["context", "put"], CONTEXT, Some(70)),
        (&["identity", "delete"], &id, None),
        (&["context", "delete"], CONTEXT, None),
        (&["reset", "identity"], &id, None),
    ];
    for (words, target, rate) in expectations {
        let entry = find(words, target)
            .unwrap_or_else(|| panic!("no audit entry for {words:?} on `{target}`: {entries:#?}"));
        if let Some(rate) = rate {
            let details: Value = serde_json::from_str(entry["details"].as_str().unwrap()).unwrap();
            assert_eq!(details["requests_per_minute"], rate, "{entry}");
        }
    }
    let verified: Value = app
        .get("/api/admin/audit/verify", Some(admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verified["ok"], true, "{verified}");
}
