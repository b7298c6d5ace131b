//! Single-row reads both databases share.

use super::*;

pub(crate) fn select_trigger(d: Dialect, id: Uuid) -> Sql {
    let mut sql = Sql::new(
        d,
        format!(
            "SELECT {TRIGGER_COLUMNS}, t.payload, t.details_removed_at FROM triggers t \
             JOIN plugins p ON p.id = t.plugin_id WHERE t.id = "
        ),
    );
    sql.bind(id);
    sql
}

pub(crate) fn select_attempts(d: Dialect, trigger_id: Uuid) -> Sql {
    let mut sql = Sql::new(
        d,
        format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE trigger_id = "),
    );
    sql.bind(trigger_id).push(" ORDER BY number");
    sql
}

pub(crate) fn select_logs(d: Dialect, trigger_id: Uuid) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT at, step, message FROM trigger_logs WHERE trigger_id = ",
    );
    sql.bind(trigger_id).push(" ORDER BY id");
    sql
}

pub(crate) fn select_plugin(d: Dialect, key: &crate::storage::PluginKey) -> Sql {
    let mut sql = Sql::new(d, format!("SELECT {PLUGIN_COLUMNS} FROM plugins WHERE "));
    match key {
        crate::storage::PluginKey::Id(id) => sql.push("id = ").bind(*id),
        crate::storage::PluginKey::Name(name) => sql.push("name = ").bind(name.clone()),
    };
    sql
}

/// The trigger's `id` when it exists (read into `IdRow`).
pub(crate) fn select_trigger_exists(d: Dialect, id: Uuid) -> Sql {
    let mut sql = Sql::new(d, "SELECT id FROM triggers WHERE id = ");
    sql.bind(id);
    sql
}

/// The `id` of the trigger stored under an idempotency key (read into `IdRow`).
pub(crate) fn select_trigger_id_by_key(d: Dialect, key: &str) -> Sql {
    let mut sql = Sql::new(d, "SELECT id FROM triggers WHERE idempotency_key = ");
    sql.bind(key);
    sql
}

/// The trigger stored under an idempotency key and the hash of the request that
/// stored it (read into `IdempotentRow`).
pub(crate) fn select_idempotent(d: Dialect, key: &str) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT id, request_hash FROM triggers WHERE idempotency_key = ",
    );
    sql.bind(key);
    sql
}

/// Who created a trigger (read into `CreatorRow`).
pub(crate) fn select_trigger_creator(d: Dialect, id: Uuid) -> Sql {
    let mut sql = Sql::new(d, "SELECT created_by FROM triggers WHERE id = ");
    sql.bind(id);
    sql
}

#[derive(sqlx::FromRow)]
pub(crate) struct CreatorRow {
    pub created_by: Option<String>,
}
