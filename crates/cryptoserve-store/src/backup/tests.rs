//! The backup covers the schema: every table the migrations create is exported or listed as
//! left out, and every column of an exported table is in its rows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Duration, DurationRound, TimeDelta, Utc};
use sea_orm::{ConnectionTrait, Statement};

use super::{EXPORTED_TABLES, NOT_EXPORTED_TABLES};
use crate::{
    Algorithm, AuditEntry, AuditKey, ContextAttributes, NewContext, NewIdentity, PoolSettings,
    RateLimitDimension, RateLimitScope, Role, Store, UsageRow,
};

async fn migrated() -> Store {
    let store = Store::connect(
        "sqlite::memory:",
        &PoolSettings::default(),
        AuditKey::new([3; 32]),
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    store
}

async fn strings(store: &Store, sql: &str) -> Vec<String> {
    let rows = store
        .db
        .query_all(Statement::from_string(
            store.db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect()
}

/// One row in every exported table.
async fn populate(store: &Store) {
    let audit = || AuditEntry::new("cli", "test", "t");
    store
        .create_context(
            NewContext {
                name: "orders".into(),
                description: "d".into(),
                algorithm: Algorithm::Aes256Gcm,
                master_key_id: "00112233".into(),
                attributes: ContextAttributes::default(),
                generation_id: Some("ab".repeat(16)),
            },
            audit(),
        )
        .await
        .unwrap();
    let identity = store
        .create_identity(
            NewIdentity {
                name: "svc".into(),
                role: Role::Service,
                allowed_contexts: vec!["orders".into()],
                expires_at: None,
            },
            audit(),
        )
        .await
        .unwrap();
    store
        .revoke_token(
            "jti-1",
            &identity.id,
            Utc::now() + Duration::hours(1),
            audit(),
        )
        .await
        .unwrap();
    store
        .upsert_rate_limit_policy(
            RateLimitScope::Context,
            RateLimitDimension::Identity,
            "orders",
            60,
            10,
            true,
            audit(),
        )
        .await
        .unwrap();
    let minute = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap();
    store
        .insert_usage_batch(&[UsageRow {
            minute,
            identity_id: identity.id,
            context: "orders".into(),
            operation: "encrypt".into(),
            outcome: "success".into(),
            count: 1,
            bytes: 5,
        }])
        .await
        .unwrap();
}

#[tokio::test]
async fn every_table_the_migrations_create_is_exported_or_listed_as_left_out() {
    let store = migrated().await;
    let tables = strings(
        &store,
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations' ORDER BY name",
    )
    .await;
    let mut known: Vec<String> = EXPORTED_TABLES
        .iter()
        .chain(NOT_EXPORTED_TABLES.iter())
        .map(|name| (*name).to_owned())
        .collect();
    known.sort();
    assert_eq!(
        tables, known,
        "the schema's tables changed: export a new table (a field of BackupTables, a name in \
         EXPORTED_TABLES, a copy in restore.rs) or list it in NOT_EXPORTED_TABLES with why"
    );
}

#[tokio::test]
async fn every_column_of_every_exported_table_is_in_the_backup() {
    let store = migrated().await;
    populate(&store).await;
    let tables = serde_json::to_value(store.export_tables().await.unwrap()).unwrap();
    let object = tables.as_object().unwrap();
    let mut names: Vec<&str> = object.keys().map(String::as_str).collect();
    let mut exported = EXPORTED_TABLES.to_vec();
    names.sort_unstable();
    exported.sort_unstable();
    assert_eq!(names, exported, "BackupTables and EXPORTED_TABLES disagree");
    for table in EXPORTED_TABLES {
        let row = object[table][0]
            .as_object()
            .unwrap_or_else(|| panic!("no {table} row was exported"));
        let mut fields: Vec<String> = row.keys().cloned().collect();
        fields.sort();
        let mut columns = strings(
            &store,
            &format!("SELECT name FROM pragma_table_info('{table}')"),
        )
        .await;
        columns.sort();
        assert_eq!(fields, columns, "{table}: a column is not exported");
    }
}

#[tokio::test]
async fn counts_key_ids_and_head_describe_the_snapshot() {
    let store = migrated().await;
    assert!(store.export_tables().await.unwrap().is_empty());
    populate(&store).await;
    let tables = store.export_tables().await.unwrap();
    assert!(!tables.is_empty());
    assert!(tables
        .row_counts()
        .iter()
        .all(|(_, rows)| *rows == 1 || *rows == 4));
    assert_eq!(
        tables.master_key_ids().into_iter().collect::<Vec<_>>(),
        ["00112233"]
    );
    let head = store.list_audit(None, None, 100).await.unwrap();
    let last = head.last().unwrap();
    assert_eq!(tables.audit_head(), Some((last.id, last.mac.as_str())));
    assert!(super::knows_schema(&super::schema_version()));
    assert!(!super::knows_schema("m29991231_000001_future"));
}
