//! Row of `key_versions`: one version of a context key (fingerprint only, never key bytes).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A key version row; `master_key_id` names the master key it derives from.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "key_versions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub context_name: String,
    pub version: i32,
    pub master_key_id: String,
    pub status: String,
    pub created_at: DateTimeUtc,
}

/// No relations are declared; joins are written explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
