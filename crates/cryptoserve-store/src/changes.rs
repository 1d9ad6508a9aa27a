//! The change counter: one row whose value grows inside every transaction that changes data
//! the server caches (contexts, key versions, identities, revoked tokens, rate-limit
//! policies). Other instances poll [`Store::change_counter`] and reload when it moves, which
//! costs one primary-key read instead of re-reading every table.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::entity::change_counter;
use crate::error::{Result, StoreError};
use crate::Store;

/// Primary key of the single counter row seeded by the initial migration.
const COUNTER_ROW: i32 = 1;

impl Store {
    /// The current counter value; compare with the value seen at the last cache load.
    pub async fn change_counter(&self) -> Result<i64> {
        let txn = self.begin().await?;
        let row = change_counter::Entity::find_by_id(COUNTER_ROW)
            .one(&txn)
            .await?;
        txn.commit().await?;
        let row =
            row.ok_or_else(|| StoreError::Corrupt("change_counter row 1 is missing".to_owned()))?;
        Ok(row.value)
    }
}

/// Increments the counter; call inside the mutation's transaction so readers never see the
/// new value before the data it announces.
pub(crate) async fn bump_change_counter(txn: &impl ConnectionTrait) -> Result<()> {
    let result = change_counter::Entity::update_many()
        .col_expr(
            change_counter::Column::Value,
            Expr::col(change_counter::Column::Value).add(1),
        )
        .filter(change_counter::Column::Id.eq(COUNTER_ROW))
        .exec(txn)
        .await?;
    if result.rows_affected == 1 {
        Ok(())
    } else {
        Err(StoreError::Corrupt(
            "change_counter row 1 is missing".to_owned(),
        ))
    }
}
