//! `GET /api/admin/usage`, described here while its handler (`routes/admin/usage.rs`) does not
//! carry its own `#[utoipa::path]`. Once it does, list that handler in `AdminApi` and delete
//! this file.
#![allow(dead_code)] // `usage` exists only to carry the description.

use chrono::{DateTime, Utc};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::records::UsageRow;

/// Filters; all optional.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// Only this context.
    pub context: Option<String>,
    /// Only this identity id.
    pub identity: Option<String>,
    /// Only minutes at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
}

/// Crypto usage counters.
#[derive(Debug, ToSchema)]
pub struct UsageReport {
    /// Per (minute, identity, context, operation, outcome), oldest minute first.
    pub usage: Vec<UsageRow>,
}

/// This route's part of the API description.
#[derive(Debug, OpenApi)]
#[openapi(paths(usage))]
pub struct UsageApi;

#[utoipa::path(
    get,
    path = "/api/admin/usage",
    tag = "admin",
    operation_id = "list_usage",
    params(UsageQuery),
    responses(
        (status = 200, description = "Per-minute crypto usage counters with byte totals", body = UsageReport),
        (status = 400, description = "`invalid_request`: bad `since`", body = super::ErrorBody),
        super::AuthErrors,
        super::StoreErrors,
    ),
    security(("bearer" = []))
)]
fn usage() {}
