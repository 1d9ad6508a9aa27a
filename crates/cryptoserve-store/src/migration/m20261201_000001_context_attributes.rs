//! Context attributes for the Vault-Transit-compatible API (and the native admin API):
//! derived and convergent keys, a minimum encryption version, whether deletion is allowed,
//! an auto-rotation period, and a random generation id that enters key derivation so a
//! deleted and re-created name never re-derives the old keys.
//!
//! Every column is added with a default, so existing rows keep their meaning: not derived,
//! not convergent, no minimum encryption version, not deletable, no auto-rotation, and no
//! generation id (their keys derive exactly as before). SQLite adds one column per statement.

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000001_context_attributes"
    }
}

#[derive(DeriveIden)]
enum Contexts {
    Table,
    MinEncryptionVersion,
    Derived,
    Convergent,
    DeletionAllowed,
    AutoRotatePeriodSecs,
    GenerationId,
}

fn columns() -> Vec<ColumnDef> {
    vec![
        ColumnDef::new(Contexts::MinEncryptionVersion)
            .integer()
            .not_null()
            .default(0)
            .to_owned(),
        ColumnDef::new(Contexts::Derived)
            .boolean()
            .not_null()
            .default(false)
            .to_owned(),
        ColumnDef::new(Contexts::Convergent)
            .boolean()
            .not_null()
            .default(false)
            .to_owned(),
        ColumnDef::new(Contexts::DeletionAllowed)
            .boolean()
            .not_null()
            .default(false)
            .to_owned(),
        ColumnDef::new(Contexts::AutoRotatePeriodSecs)
            .big_integer()
            .not_null()
            .default(0)
            .to_owned(),
        ColumnDef::new(Contexts::GenerationId)
            .string_len(32)
            .null()
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for mut column in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(Contexts::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Contexts::MinEncryptionVersion,
            Contexts::Derived,
            Contexts::Convergent,
            Contexts::DeletionAllowed,
            Contexts::AutoRotatePeriodSecs,
            Contexts::GenerationId,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Contexts::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
