//! One call, end to end: build the request for an address, send it, and decide what an
//! outcome means: success, wait and resend (429 with `Retry-After`), move to the next
//! address (no connection or a failed TLS handshake; or, for calls safe to repeat, a timeout,
//! reset or 502/503/504), or a typed error. Every attempt runs in a `cryptoserve.request`
//! span; every retry logs a warning with its reason.

use std::sync::atomic::Ordering;

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;
use zeroize::Zeroizing;

use crate::error::{Error, Failure, Result};
use crate::retry::{parse_retry_after, Repeat};
use crate::tls;
use crate::Client;

/// The header carrying the request id both ways.
pub(crate) const REQUEST_ID: &str = "X-Request-ID";

/// A request, independent of the address it goes to.
#[derive(Debug)]
pub(crate) struct Call {
    method: Method,
    /// Path segments below the base URL, unencoded (`["api", "admin", "contexts", name]`).
    segments: Vec<String>,
    query: Option<String>,
    body: Option<Vec<u8>>,
    repeat: Repeat,
}

impl Call {
    /// A `GET`: always safe to repeat.
    pub(crate) fn get(segments: &[&str]) -> Self {
        Self::new(Method::GET, segments, Repeat::Safe)
    }

    pub(crate) fn new(method: Method, segments: &[&str], repeat: Repeat) -> Self {
        Self {
            method,
            segments: segments.iter().map(|s| (*s).to_owned()).collect(),
            query: None,
            body: None,
            repeat,
        }
    }

    /// Adds a JSON body.
    pub(crate) fn json(mut self, body: &impl Serialize) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|error| Error::Config(format!("encoding the request: {error}")))?;
        self.body = Some(bytes);
        Ok(self)
    }

    /// Adds a query string (absent fields left out).
    pub(crate) fn query(mut self, query: &impl Serialize) -> Result<Self> {
        let text = serde_urlencoded::to_string(query)
            .map_err(|error| Error::Config(format!("encoding the query: {error}")))?;
        self.query = (!text.is_empty()).then_some(text);
        Ok(self)
    }

    fn path(&self) -> String {
        format!("/{}", self.segments.join("/"))
    }
}

/// What the server said: any status.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
    pub(crate) request_id: Option<String>,
    retry_after: Option<std::time::Duration>,
}

impl Answer {
    /// The body as `T`.
    pub(crate) fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|error| Error::InvalidResponse {
            detail: format!("HTTP {}: {error}", self.status.as_u16()),
            request_id: self.request_id.clone(),
        })
    }

    /// The typed error for a non-2xx answer.
    pub(crate) fn into_error(self) -> Error {
        let parsed: Option<cryptoserve_api::ErrorBody> = serde_json::from_slice(&self.body).ok();
        let (code, message, echoed) = match parsed {
            Some(body) => (body.error.code, body.error.message, body.error.request_id),
            None => (
                format!("http_{}", self.status.as_u16()),
                self.status
                    .canonical_reason()
                    .unwrap_or("unexpected answer")
                    .to_owned(),
                None,
            ),
        };
        let failure = Failure {
            status: self.status.as_u16(),
            code,
            message,
            request_id: self.request_id.or(echoed),
        };
        Error::from_failure(failure, self.retry_after)
    }
}

/// How one attempt ended.
pub(crate) enum Attempt {
    /// The server answered (any status).
    Answered(Answer),
    /// No connection: the request never left, so any call may go elsewhere.
    NotSent(reqwest::Error),
    /// Sent, or maybe sent, and then lost (timeout, reset): only safe calls go elsewhere.
    Lost(reqwest::Error),
    /// The TLS handshake failed (an [`Error::Tls`]): the server never read the request, so
    /// any call may go elsewhere, but never again to this address.
    Refused(Error),
}

impl Client {
    /// Sends `call` with failover and rate-limit waits; a 2xx answer or a typed error.
    pub(crate) async fn send(&self, call: &Call) -> Result<Answer> {
        let inner = &self.inner;
        let count = inner.addresses.len();
        let start = inner.last_good.load(Ordering::Relaxed) % count;
        let request_id = uuid::Uuid::new_v4().simple().to_string();
        let mut step = 0;
        let mut attempt = 0u32;
        let mut waits = 0u32;
        let mut last_error = None;
        while step < count {
            let index = (start + step) % count;
            attempt += 1;
            let span = tracing::info_span!(
                "cryptoserve.request",
                method = %call.method,
                path = %call.path(),
                attempt,
                address = %inner.addresses[index],
                request_id = %request_id,
            );
            let outcome = self
                .attempt(index, call, &request_id)
                .instrument(span.clone())
                .await;
            let more = step + 1 < count;
            let address = inner.addresses[index].to_string();
            match outcome {
                Attempt::NotSent(source) => {
                    if more {
                        span.in_scope(|| tracing::warn!(error = %source, "no connection; trying the next address"));
                    }
                    last_error = Some(Error::Transport { address, source });
                    step += 1;
                }
                Attempt::Refused(error) => {
                    if more {
                        span.in_scope(
                            || tracing::warn!(%error, "TLS refused; trying the next address"),
                        );
                    }
                    last_error = Some(error);
                    step += 1;
                }
                Attempt::Lost(source) => {
                    let error = Error::Transport { address, source };
                    if call.repeat == Repeat::Once || !more {
                        return Err(error);
                    }
                    span.in_scope(
                        || tracing::warn!(%error, "no answer; repeating at the next address"),
                    );
                    last_error = Some(error);
                    step += 1;
                }
                Attempt::Answered(answer) if answer.status.is_success() => {
                    inner.last_good.store(index, Ordering::Relaxed);
                    return Ok(answer);
                }
                Attempt::Answered(answer) if answer.status == StatusCode::TOO_MANY_REQUESTS => {
                    inner.last_good.store(index, Ordering::Relaxed);
                    match answer.retry_after {
                        Some(delay) if inner.retry.may_wait(waits, Some(delay)) => {
                            waits += 1;
                            span.in_scope(|| {
                                tracing::warn!(
                                    wait_ms = delay.as_millis() as u64,
                                    "rate limited; waiting for Retry-After"
                                )
                            });
                            tokio::time::sleep(delay).await;
                        }
                        _ => return Err(answer.into_error()),
                    }
                }
                Attempt::Answered(answer) if is_unavailable(answer.status) => {
                    if call.repeat == Repeat::Once || !more {
                        return Err(answer.into_error());
                    }
                    span.in_scope(|| {
                        tracing::warn!(
                            status = answer.status.as_u16(),
                            "instance unavailable; trying the next address"
                        )
                    });
                    last_error = Some(answer.into_error());
                    step += 1;
                }
                Attempt::Answered(answer) => {
                    inner.last_good.store(index, Ordering::Relaxed);
                    return Err(answer.into_error());
                }
            }
        }
        Err(last_error.unwrap_or_else(|| Error::Config("no address to send to".into())))
    }

    /// [`Client::send`] and decode the JSON answer.
    pub(crate) async fn call<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        self.send(&call).await?.decode()
    }

    /// One attempt at address `index`, whatever the answer.
    pub(crate) async fn attempt(&self, index: usize, call: &Call, request_id: &str) -> Attempt {
        let inner = &self.inner;
        let request = self.request(&inner.addresses[index], call, request_id);
        let response = match request.send().await {
            Ok(response) => response,
            Err(source) => return unanswered(&inner.addresses[index], source),
        };
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|value: &HeaderValue| value.to_str().ok())
                .map(str::to_owned)
        };
        let echoed = header(REQUEST_ID);
        let retry_after = parse_retry_after(header(RETRY_AFTER.as_str()).as_deref());
        match response.bytes().await {
            Ok(body) => Attempt::Answered(Answer {
                status,
                body: body.to_vec(),
                request_id: echoed.or_else(|| Some(request_id.to_owned())),
                retry_after,
            }),
            // The server answered, so it read the request: never a handshake failure.
            Err(error) => Attempt::Lost(error),
        }
    }

    fn request(&self, base: &Url, call: &Call, request_id: &str) -> reqwest::RequestBuilder {
        let mut url = base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(&call.segments);
        }
        url.set_query(call.query.as_deref());
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), url)
            .header(REQUEST_ID, request_id);
        if let Some(token) = &self.inner.token {
            let bearer = Zeroizing::new(format!("Bearer {}", token.expose_secret()));
            let value = HeaderValue::from_str(&bearer);
            match value {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    request = request.header(AUTHORIZATION, value);
                }
                // Leave the header out: the server answers 401, which says what is wrong.
                Err(_) => tracing::warn!("the token is not a valid HTTP header value"),
            }
        }
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        request
    }
}

/// An attempt without an answer: a failed TLS handshake, no connection, or lost on the way.
fn unanswered(address: &Url, source: reqwest::Error) -> Attempt {
    match tls::failure_of(&source) {
        Some((kind, detail)) => Attempt::Refused(Error::Tls {
            address: address.to_string(),
            kind,
            detail,
            source,
        }),
        None if source.is_connect() => Attempt::NotSent(source),
        None => Attempt::Lost(source),
    }
}

/// A proxy or an instance that cannot serve right now.
fn is_unavailable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 502..=504)
}
