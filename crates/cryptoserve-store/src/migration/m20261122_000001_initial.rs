//! The initial schema: contexts and key versions, identities and revoked tokens, rate-limit
//! policies, the HMAC-chained admin audit log, usage counters and the change counter (seeded
//! with its single row so writers can always `UPDATE` it).

use sea_orm_migration::prelude::*;

use super::columns::{
    big_integer, bigint_pk, boolean, int_pk, integer, long_text, text, timestamp, timestamp_null,
};

#[derive(Debug)]
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000001_initial"
    }
}

#[derive(DeriveIden)]
enum Contexts {
    Table,
    Id,
    Name,
    Description,
    Algorithm,
    CurrentVersion,
    MinDecryptionVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum KeyVersions {
    Table,
    Id,
    ContextName,
    Version,
    MasterKeyId,
    Status,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Identities {
    Table,
    Id,
    Name,
    Role,
    AllowedContexts,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum RevokedTokens {
    Table,
    Jti,
    IdentityId,
    RevokedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum RateLimitPolicies {
    Table,
    Id,
    Scope,
    Dimension,
    Key,
    RequestsPerMinute,
    BurstSize,
    Enabled,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AdminAuditLog {
    Table,
    Id,
    At,
    Actor,
    Action,
    Target,
    RequestId,
    ClientIp,
    Outcome,
    Details,
    PrevMac,
    Mac,
}

#[derive(DeriveIden)]
enum UsageCounters {
    Table,
    Id,
    Minute,
    IdentityId,
    Context,
    Operation,
    Outcome,
    Count,
    Bytes,
}

#[derive(DeriveIden)]
enum ChangeCounter {
    Table,
    Id,
    Value,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Contexts::Table)
                    .col(int_pk(Contexts::Id))
                    .col(text(Contexts::Name, 64).unique_key())
                    .col(long_text(Contexts::Description))
                    .col(text(Contexts::Algorithm, 32))
                    .col(integer(Contexts::CurrentVersion))
                    .col(integer(Contexts::MinDecryptionVersion))
                    .col(timestamp(Contexts::CreatedAt))
                    .col(timestamp(Contexts::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KeyVersions::Table)
                    .col(int_pk(KeyVersions::Id))
                    .col(text(KeyVersions::ContextName, 64))
                    .col(integer(KeyVersions::Version))
                    .col(text(KeyVersions::MasterKeyId, 64))
                    .col(text(KeyVersions::Status, 16))
                    .col(timestamp(KeyVersions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(KeyVersions::Table, KeyVersions::ContextName)
                            .to(Contexts::Table, Contexts::Name)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .index(
                        Index::create()
                            .name("ux_key_versions_context_version")
                            .col(KeyVersions::ContextName)
                            .col(KeyVersions::Version)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Identities::Table)
                    .col(text(Identities::Id, 36).primary_key())
                    .col(text(Identities::Name, 128))
                    .col(text(Identities::Role, 16))
                    .col(long_text(Identities::AllowedContexts))
                    .col(timestamp(Identities::CreatedAt))
                    .col(timestamp_null(Identities::ExpiresAt))
                    .col(timestamp_null(Identities::RevokedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RevokedTokens::Table)
                    .col(text(RevokedTokens::Jti, 128).primary_key())
                    .col(text(RevokedTokens::IdentityId, 36))
                    .col(timestamp(RevokedTokens::RevokedAt))
                    .col(timestamp(RevokedTokens::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RateLimitPolicies::Table)
                    .col(int_pk(RateLimitPolicies::Id))
                    .col(text(RateLimitPolicies::Scope, 16))
                    .col(text(RateLimitPolicies::Dimension, 16))
                    .col(text(RateLimitPolicies::Key, 128))
                    .col(integer(RateLimitPolicies::RequestsPerMinute))
                    .col(integer(RateLimitPolicies::BurstSize))
                    .col(boolean(RateLimitPolicies::Enabled))
                    .col(timestamp(RateLimitPolicies::UpdatedAt))
                    .index(
                        Index::create()
                            .name("ux_rate_limit_policies_scope_dimension_key")
                            .col(RateLimitPolicies::Scope)
                            .col(RateLimitPolicies::Dimension)
                            .col(RateLimitPolicies::Key)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AdminAuditLog::Table)
                    .col(bigint_pk(AdminAuditLog::Id))
                    .col(timestamp(AdminAuditLog::At))
                    .col(text(AdminAuditLog::Actor, 128))
                    .col(text(AdminAuditLog::Action, 64))
                    .col(text(AdminAuditLog::Target, 256))
                    .col(text(AdminAuditLog::RequestId, 128))
                    .col(text(AdminAuditLog::ClientIp, 64))
                    .col(text(AdminAuditLog::Outcome, 16))
                    .col(ColumnDef::new(AdminAuditLog::Details).text().null())
                    .col(text(AdminAuditLog::PrevMac, 64))
                    .col(text(AdminAuditLog::Mac, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_admin_audit_log_at")
                    .table(AdminAuditLog::Table)
                    .col(AdminAuditLog::At)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UsageCounters::Table)
                    .col(bigint_pk(UsageCounters::Id))
                    .col(timestamp(UsageCounters::Minute))
                    .col(text(UsageCounters::IdentityId, 64))
                    .col(text(UsageCounters::Context, 64))
                    .col(text(UsageCounters::Operation, 32))
                    .col(text(UsageCounters::Outcome, 16))
                    .col(big_integer(UsageCounters::Count))
                    .col(big_integer(UsageCounters::Bytes))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_usage_counters_minute")
                    .table(UsageCounters::Table)
                    .col(UsageCounters::Minute)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChangeCounter::Table)
                    .col(integer(ChangeCounter::Id).primary_key())
                    .col(big_integer(ChangeCounter::Value))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(ChangeCounter::Table)
                    .columns([ChangeCounter::Id, ChangeCounter::Value])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents so the key_versions foreign key never blocks a drop.
        let tables = [
            ChangeCounter::Table.into_iden(),
            UsageCounters::Table.into_iden(),
            AdminAuditLog::Table.into_iden(),
            RateLimitPolicies::Table.into_iden(),
            RevokedTokens::Table.into_iden(),
            Identities::Table.into_iden(),
            KeyVersions::Table.into_iden(),
            Contexts::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
