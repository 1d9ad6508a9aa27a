//! Schema migrations (sea-orm-migration). Each migration is one file named by date so the
//! order is obvious; [`Migrator`] lists them. `Store::migrate` applies whatever is pending,
//! so running it on every start (or twice) is safe.

use sea_orm_migration::prelude::*;

mod columns;
mod m20261122_000001_initial;
mod m20261201_000001_context_attributes;

/// The ordered list of migrations for the metadata schema.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_initial::Migration),
            Box::new(m20261201_000001_context_attributes::Migration),
        ]
    }
}
