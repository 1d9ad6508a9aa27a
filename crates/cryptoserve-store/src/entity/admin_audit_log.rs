//! Row of `admin_audit_log`: one link of the HMAC chain.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// An audit row; `mac` covers every other field plus `prev_mac`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "admin_audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub request_id: String,
    pub client_ip: String,
    pub outcome: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub details: Option<String>,
    pub prev_mac: String,
    pub mac: String,
}

/// No relations are declared; joins are written explicitly where needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
