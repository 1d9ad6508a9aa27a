//! Row of `usage_counters`: aggregated operations per minute.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A usage row: `count` operations moving `bytes` bytes in one minute.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "usage_counters")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub minute: DateTimeUtc,
    pub identity_id: String,
    pub context: String,
    pub operation: String,
    pub outcome: String,
    pub count: i64,
    pub bytes: i64,
}

/// No relations are declared; joins are written explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
