//! Row of `contexts`: one encryption context and its key-version window.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A context row; `current_version` encrypts, versions from `min_decryption_version` decrypt.
/// The attribute columns after `updated_at` were added by `m20261201_000001_context_attributes`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "contexts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub name: String,
    pub description: String,
    pub algorithm: String,
    pub current_version: i32,
    pub min_decryption_version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub min_encryption_version: i32,
    pub derived: bool,
    pub convergent: bool,
    pub deletion_allowed: bool,
    pub auto_rotate_period_secs: i64,
    pub generation_id: Option<String>,
}

/// No relations are declared; joins are written explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
