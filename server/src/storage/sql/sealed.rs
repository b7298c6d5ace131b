//! Rows that hold sealed values, as `calltrail secrets rotate` reads and rewrites
//! them: a page at a time in id order, each rewrite only if the row is still what
//! was read (another writer's change wins; the next run picks the row up again).

use super::*;

/// An id and the JSON text that holds sealed values (a payload, a migration spec).
#[derive(sqlx::FromRow)]
pub(crate) struct SealedTextRow {
    pub id: Uuid,
    pub text: String,
}

/// Only rows that hold a sealed value are read; the text test is a cheap filter,
/// the service parses what it gets.
const SEALED_PATTERN: &str = "%\"$sealed\"%";

pub(crate) fn select_sealed_payloads(d: Dialect, after: Option<Uuid>, limit: u32) -> Sql {
    select_sealed_text(d, "triggers", "payload", after, limit)
}

pub(crate) fn select_sealed_migration_specs(d: Dialect, after: Option<Uuid>, limit: u32) -> Sql {
    select_sealed_text(d, "trigger_migrations", "spec", after, limit)
}

fn select_sealed_text(
    d: Dialect,
    table: &str,
    column: &str,
    after: Option<Uuid>,
    limit: u32,
) -> Sql {
    let mut sql = Sql::new(
        d,
        format!("SELECT id, {column} AS text FROM {table} WHERE {column} LIKE "),
    );
    sql.bind(SEALED_PATTERN);
    if let Some(after) = after {
        sql.push(" AND id > ").bind(after);
    }
    sql.push(" ORDER BY id LIMIT ").bind(limit as i64);
    sql
}

pub(crate) fn replace_payload(d: Dialect, id: Uuid, old: &str, new: &str) -> Sql {
    replace_text(d, "triggers", "payload", id, old, new)
}

pub(crate) fn replace_migration_spec(d: Dialect, id: Uuid, old: &str, new: &str) -> Sql {
    replace_text(d, "trigger_migrations", "spec", id, old, new)
}

fn replace_text(d: Dialect, table: &str, column: &str, id: Uuid, old: &str, new: &str) -> Sql {
    let mut sql = Sql::new(d, format!("UPDATE {table} SET {column} = "));
    sql.bind(new)
        .push(" WHERE id = ")
        .bind(id)
        .push(&format!(" AND {column} = "))
        .bind(old);
    sql
}

/// A plugin's sealed columns and its headers, unless it changed since `read_at`
/// (`updated_at`, which every plugin update moves and rotation leaves).
pub(crate) fn replace_plugin_secrets(d: Dialect, p: &PluginRecord, read_at: Micros) -> Sql {
    let mut sql = Sql::new(d, "UPDATE plugins SET ");
    push_sets(
        &mut sql,
        vec![
            ("headers", to_json(&p.plugin.headers).into()),
            ("auth_sealed", p.auth_sealed.clone().into()),
            (
                "signing_secret_sealed",
                p.signing_secret_sealed.clone().into(),
            ),
            ("headers_sealed", p.headers_sealed.clone().into()),
        ],
    );
    sql.push(" WHERE id = ")
        .bind(p.plugin.id)
        .push(" AND updated_at = ")
        .bind(read_at);
    sql
}
