//! Shared arrangements: fleets of instances, policies, one-call requests that keep the
//! rate-limit headers, metrics, and a lock for tests that must not share the machine.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use tokio::sync::{Mutex, MutexGuard};

use cryptoserve_server::config::Settings;
use cryptoserve_store::Role;

pub use crate::support::metric;
use crate::support::{b64, Deployment, TestApp};

/// The context every test encrypts in.
pub const CONTEXT: &str = "payments";

/// The largest policy the admin API accepts; used to take a dimension out of the picture.
pub const UNLIMITED: (u32, u32) = (10_000_000, 1_000_000);

static SERIAL: Mutex<()> = Mutex::const_new(());

/// Held by tests that load the machine or measure time, so they do not disturb each other.
pub async fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().await
}

/// Runs a blocking testkit call (starting or killing `redis-server`) off the async threads,
/// so the Redis client tasks that share the test's runtime keep running meanwhile.
pub async fn blocking<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(call).await.unwrap()
}

/// Several instances of one deployment, an admin token and the test context.
pub struct Fleet {
    pub deployment: Deployment,
    pub apps: Vec<TestApp>,
    pub admin: String,
}

impl Fleet {
    /// Starts instance 1, creates [`CONTEXT`], makes the ip and context dimensions
    /// non-binding, then starts the others (which read those defaults from the database).
    pub async fn start(
        deployment: Deployment,
        instances: usize,
        tweak: impl Fn(&mut Settings),
    ) -> Fleet {
        let first = spawn_numbered(&deployment, 1, &tweak).await;
        let admin = first.admin_token().await;
        first.create_context(&admin, CONTEXT, "aes-256-gcm").await;
        for dimension in ["ip", "context"] {
            let path = format!("/api/admin/rate-limits/defaults/{dimension}");
            put_policy(&first, &admin, &path, UNLIMITED.0, UNLIMITED.1).await;
        }
        let mut apps = vec![first];
        for number in 2..=instances {
            apps.push(spawn_numbered(&deployment, number, &tweak).await);
        }
        Fleet {
            deployment,
            apps,
            admin,
        }
    }

    /// A service identity allowed to use [`CONTEXT`], and its id.
    pub async fn identity(&self) -> (String, String) {
        let token = self.apps[0].token(Role::Service, &[CONTEXT]).await;
        let id = identity_id(&token);
        (token, id)
    }

    /// Sets an identity override through instance 1.
    pub async fn limit_identity(&self, id: &str, requests_per_minute: u32, burst_size: u32) {
        let path = format!("/api/admin/rate-limits/identity/{id}");
        put_policy(
            &self.apps[0],
            &self.admin,
            &path,
            requests_per_minute,
            burst_size,
        )
        .await;
    }

    /// Empties an identity's bucket through instance 1.
    pub async fn reset_identity(&self, id: &str) {
        let path = format!("/api/admin/rate-limits/reset/identity/{id}");
        let response = self.apps[0].post(&path, &self.admin, &json!({})).await;
        assert_eq!(response.status(), 204, "reset of identity {id}");
    }
}

/// Starts instance `number` with a recognisable instance id.
pub async fn spawn_numbered(
    deployment: &Deployment,
    number: usize,
    tweak: &impl Fn(&mut Settings),
) -> TestApp {
    deployment
        .spawn_with(|settings| {
            settings.instance_id = Some(format!("rl-{number}"));
            tweak(settings);
        })
        .await
}

/// PUTs a policy and asserts it was accepted.
pub async fn put_policy(app: &TestApp, admin: &str, path: &str, rpm: u32, burst: u32) {
    let body = json!({ "requests_per_minute": rpm, "burst_size": burst, "enabled": true });
    let response = app.put(path, admin, &body).await;
    let status = response.status();
    assert_eq!(
        status,
        200,
        "PUT {path}: {}",
        response.text().await.unwrap()
    );
}

/// The identity id (`sub`) inside a token.
pub fn identity_id(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .expect("JWT payload is base64url");
    let claims: Value = serde_json::from_slice(&bytes).unwrap();
    claims["sub"].as_str().expect("sub claim").to_owned()
}

/// A crypto response reduced to what rate limiting is about.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub reset: Option<u64>,
    pub retry_after: Option<u64>,
    pub body: Value,
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Reply {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().parse::<u64>().expect("numeric header"))
        };
        let (limit, remaining) = (header("x-ratelimit-limit"), header("x-ratelimit-remaining"));
        let (reset, retry_after) = (header("x-ratelimit-reset"), header("retry-after"));
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Reply {
            status,
            limit,
            remaining,
            reset,
            retry_after,
            body,
        }
    }

    /// The error code of a refusal.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// The error message of a refusal.
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

/// The request body of a one-item encrypt.
pub fn encrypt_body() -> Value {
    json!({ "context": CONTEXT, "plaintext": b64(b"rate limited") })
}

/// One encrypt in [`CONTEXT`].
pub async fn encrypt(app: &TestApp, token: &str) -> Reply {
    let response = app
        .post("/api/v1/crypto/encrypt", token, &encrypt_body())
        .await;
    Reply::read(response).await
}

/// One encrypt with extra request headers (for client-IP tests).
pub async fn encrypt_with(app: &TestApp, token: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = app
        .client
        .post(format!("{}/api/v1/crypto/encrypt", app.address))
        .bearer_auth(token)
        .json(&encrypt_body());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Reply::read(request.send().await.unwrap()).await
}

/// A batch encrypt of `items` items in [`CONTEXT`].
pub async fn batch(app: &TestApp, token: &str, items: usize) -> Reply {
    let items: Vec<Value> = (0..items)
        .map(|i| json!({ "plaintext": b64(format!("item {i}").as_bytes()) }))
        .collect();
    let body = json!({ "context": CONTEXT, "items": items });
    Reply::read(app.post("/api/v1/crypto/batch/encrypt", token, &body).await).await
}

/// Encrypts on `app` until `X-RateLimit-Limit` shows `limit` (the request may be admitted or
/// refused; both carry the header). Returns the time from `since` to the first such answer.
pub async fn wait_for_limit(
    app: &TestApp,
    token: &str,
    limit: u64,
    since: Instant,
    give_up_after: Duration,
) -> Option<Duration> {
    loop {
        let reply = encrypt(app, token).await;
        assert!(
            reply.status == 200 || reply.status == 429,
            "unexpected answer while polling: {reply:?}"
        );
        if reply.limit == Some(limit) {
            return Some(since.elapsed());
        }
        if since.elapsed() > give_up_after {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Decisions taken in-process because Redis could not answer, since start.
pub async fn fallback_decisions(app: &TestApp) -> f64 {
    metric(
        app,
        "cryptoserve_rate_limit_backend_decisions_total",
        "backend=\"fallback\"",
    )
    .await
}

/// `/health/ready`: status code and body.
pub async fn readiness(app: &TestApp) -> (u16, Value) {
    let response = app.get("/health/ready", None).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}
