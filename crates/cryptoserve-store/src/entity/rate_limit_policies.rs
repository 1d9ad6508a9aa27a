//! Row of `rate_limit_policies`: an override of the configured rate limits.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A policy row, unique per (scope, dimension, key).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "rate_limit_policies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub scope: String,
    pub dimension: String,
    pub key: String,
    pub requests_per_minute: i32,
    pub burst_size: i32,
    pub enabled: bool,
    pub updated_at: DateTimeUtc,
}

/// No relations are declared; joins are written explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
