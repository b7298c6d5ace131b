//! `calltrail copy`: move a whole Calltrail from its SQLite file to PostgreSQL,
//! the step from one binary to several instances.
//!
//! Both schemas are the same tables with the same columns; only the column types
//! differ (ids are 16-byte blobs in SQLite and `uuid` in PostgreSQL, flags are
//! integers and booleans, times are microseconds and `timestamptz`). So the copy
//! is generic: for each table, in the order its foreign keys need, read the rows
//! from one snapshot of the SQLite file and write them in batches, converting
//! each value by the PostgreSQL column's type. The kept counts are not copied:
//! PostgreSQL's triggers count the copied triggers as they arrive.
//! Nothing is decrypted or re-sealed: the same secret key opens the copy.

use std::time::Duration;

use sqlx::postgres::{PgArguments, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Arguments, Column, Connection, PgPool, Row, SqliteConnection};
use uuid::Uuid;

/// Every table that holds data, parents before children. Leases and sessions
/// are left behind: they belong to the running instances, not to the data.
pub const TABLES: &[&str] = &[
    "plugins",
    "triggers",
    "trigger_search",
    "attempts",
    "trigger_logs",
    "api_keys",
    "users",
    "audit_log",
    "trigger_migrations",
    "trigger_migration_items",
    "trigger_migration_set",
];

/// Rows read and written per batch.
const BATCH: i64 = 500;

/// Rows copied per table, in copy order.
pub type CopyReport = Vec<(&'static str, u64)>;

/// One column of the target table.
struct Target {
    name: String,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    Uuid,
    Bool,
    Int,
    Time,
    Text,
    Bytes,
}

/// Copy everything from the SQLite database at `from` into the PostgreSQL
/// database at `to`, which must hold no Calltrail data yet (its schema is created
/// or brought up to date first). `progress` hears (table, rows so far).
pub async fn copy_sqlite_to_postgres(
    from: &str,
    to: &str,
    progress: &(dyn Fn(&str, u64) + Sync),
) -> anyhow::Result<CopyReport> {
    if !from.starts_with("sqlite:") {
        anyhow::bail!("--from must be an sqlite:// URL, got {from:?}");
    }
    if !(to.starts_with("postgres:") || to.starts_with("postgresql:")) {
        anyhow::bail!("--to must be a postgres:// URL");
    }
    // The source is only read; it must exist (no mode=rwc creating an empty one).
    let source_options = from
        .parse::<SqliteConnectOptions>()?
        .create_if_missing(false)
        .read_only(true);
    let source = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(source_options)
        .await
        .map_err(|e| anyhow::anyhow!("opening {from}: {e}"))?;
    same_schema(&source).await?;

    let target_store = super::postgres::PgStore::open(to, 2).await?;
    super::Store::migrate(&target_store).await?;
    let target = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(30))
        .connect(to)
        .await?;
    for table in TABLES {
        let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&target)
            .await?;
        if n > 0 {
            anyhow::bail!(
                "the target database already holds data ({n} rows in {table}): copy into an empty one"
            );
        }
    }

    // One read transaction: every table from the same moment of the file.
    let mut reader = source.acquire().await?;
    let mut snapshot = reader.begin().await?;
    let mut report = CopyReport::new();
    let mut writer = target.begin().await?;
    for table in TABLES {
        let columns = target_columns(&target, table).await?;
        let n = copy_table(&mut snapshot, &mut writer, table, &columns, progress).await?;
        report.push((table, n));
    }
    // Identity columns carry on after the highest copied id.
    for (table, column) in identity_columns(&target).await? {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
             GREATEST((SELECT MAX({column}) FROM {table}), 1))"
        ))
        .execute(&mut *writer)
        .await?;
    }
    writer.commit().await?;
    snapshot.rollback().await?;
    Ok(report)
}

/// The file must be at this binary's schema, or columns would be missing.
async fn same_schema(source: &sqlx::SqlitePool) -> anyhow::Result<()> {
    let newest = sqlx::migrate!("./migrations/sqlite")
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0);
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(source)
            .await
            .map_err(|e| anyhow::anyhow!("the source is not a Calltrail database: {e}"))?;
    if applied != Some(newest) {
        anyhow::bail!(
            "the source database is at schema {applied:?}, this calltrail at {newest}: \
             run `calltrail migrate` on it first"
        );
    }
    Ok(())
}

async fn target_columns(pg: &PgPool, table: &str) -> anyhow::Result<Vec<Target>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(pg)
    .await?;
    rows.into_iter()
        .map(|(name, data_type)| {
            let kind = match data_type.as_str() {
                "uuid" => Kind::Uuid,
                "boolean" => Kind::Bool,
                "bigint" | "integer" | "smallint" => Kind::Int,
                "timestamp with time zone" => Kind::Time,
                "text" | "character varying" => Kind::Text,
                "bytea" => Kind::Bytes,
                other => anyhow::bail!("{table}.{name}: no copy for the column type {other}"),
            };
            Ok(Target { name, kind })
        })
        .collect()
}

async fn identity_columns(pg: &PgPool) -> anyhow::Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_all(pg)
    .await?)
}

async fn copy_table(
    source: &mut SqliteConnection,
    target: &mut sqlx::PgConnection,
    table: &'static str,
    columns: &[Target],
    progress: &(dyn Fn(&str, u64) + Sync),
) -> anyhow::Result<u64> {
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let list = names.join(", ");
    let select = format!(
        "SELECT rowid AS copy_rowid, {list} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?"
    );
    let mut after = 0i64;
    let mut copied = 0u64;
    loop {
        let rows = sqlx::query(&select)
            .bind(after)
            .bind(BATCH)
            .fetch_all(&mut *source)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("copy_rowid")?;
        let mut args = PgArguments::default();
        let mut values = Vec::with_capacity(rows.len());
        let mut n = 0;
        for row in &rows {
            let mut placeholders = Vec::with_capacity(columns.len());
            for column in columns {
                n += 1;
                placeholders.push(format!("${n}"));
                bind(&mut args, row, column)
                    .map_err(|e| anyhow::anyhow!("{table}.{}: {e}", column.name))?;
            }
            values.push(format!("({})", placeholders.join(", ")));
        }
        // Ids are copied as they are, generated ones too.
        let insert = format!(
            "INSERT INTO {table} ({list}) OVERRIDING SYSTEM VALUE VALUES {}",
            values.join(", ")
        );
        sqlx::query_with(&insert, args)
            .execute(&mut *target)
            .await
            .map_err(|e| anyhow::anyhow!("writing {table}: {e}"))?;
        copied += rows.len() as u64;
        progress(table, copied);
    }
    Ok(copied)
}

fn bind(
    args: &mut PgArguments,
    row: &sqlx::sqlite::SqliteRow,
    column: &Target,
) -> anyhow::Result<()> {
    let name = column.name.as_str();
    debug_assert!(row.columns().iter().any(|c| c.name() == name));
    match column.kind {
        Kind::Uuid => {
            let bytes: Option<Vec<u8>> = row.try_get(name)?;
            let id = bytes.map(|b| Uuid::from_slice(&b)).transpose()?;
            args.add(id).map_err(anyhow::Error::msg)?;
        }
        Kind::Bool => {
            let v: Option<i64> = row.try_get(name)?;
            args.add(v.map(|v| v != 0)).map_err(anyhow::Error::msg)?;
        }
        Kind::Int => {
            let v: Option<i64> = row.try_get(name)?;
            args.add(v).map_err(anyhow::Error::msg)?;
        }
        Kind::Time => {
            let v: Option<super::sql::Micros> = row.try_get(name)?;
            args.add(v).map_err(anyhow::Error::msg)?;
        }
        Kind::Text => {
            let v: Option<String> = row.try_get(name)?;
            args.add(v).map_err(anyhow::Error::msg)?;
        }
        Kind::Bytes => {
            let v: Option<Vec<u8>> = row.try_get(name)?;
            args.add(v).map_err(anyhow::Error::msg)?;
        }
    }
    Ok(())
}
