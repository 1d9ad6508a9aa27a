//! Row of `revoked_tokens`: a single revoked token, kept until it would have expired.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A revoked token row, keyed by the token's `jti`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "revoked_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub jti: String,
    pub identity_id: String,
    pub revoked_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

/// No relations are declared; joins are written explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
