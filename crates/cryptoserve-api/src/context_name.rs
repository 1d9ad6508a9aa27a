//! The OpenAPI schema of a context name. The type that enforces it is
//! `cryptoserve_core::ContextName`; the wire carries a plain string.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// What `cryptoserve_core::ContextName::parse` accepts.
pub const CONTEXT_NAME_PATTERN: &str = "^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$";

/// The schema of a context name (`cryptoserve_core::ContextName`, which the core crate keeps
/// free of OpenAPI). Fields use it as `#[schema(value_type = ContextName)]` on a `String`.
#[derive(Debug)]
pub struct ContextName;

impl PartialSchema for ContextName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(CONTEXT_NAME_PATTERN))
            .description(Some(
                "A context name: 1-64 of `[a-zA-Z0-9._-]`, starting alphanumeric.",
            ))
            .examples([serde_json::json!("payments")])
            .into()
    }
}

impl ToSchema for ContextName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ContextName")
    }
}
