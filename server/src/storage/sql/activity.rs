//! How plugins are doing: failed attempts in a recent window, and the last success.
//!
//! Both reads stay cheap at a million rows: the window rides the attempts' primary
//! key (UUIDv7, so time-ordered) instead of scanning every attempt, and the last
//! success older than the window is the newest finished trigger of each plugin,
//! found on the `triggers_by_plugin` index.

use super::*;

/// A plugin's attempts in the window: how many failed, when a success last ended.
#[derive(sqlx::FromRow)]
pub(crate) struct WindowActivityRow {
    pub plugin_id: Uuid,
    pub failures: i64,
    pub last_success: Option<i64>,
}

/// When a plugin's newest finished trigger finished.
#[derive(sqlx::FromRow)]
pub(crate) struct LastFinishedRow {
    pub plugin_id: Uuid,
    pub last_success: Option<i64>,
}

/// Per plugin with attempts started at or after `since`: the failed ones counted,
/// and the end of the latest successful one (of the triggers `created_by` made,
/// when given). An attempt's id is made when it is recorded, never before it
/// starts, so `id >= bound(since)` only narrows the scan.
pub(crate) fn select_window_activity(
    d: Dialect,
    since: DateTime<Utc>,
    created_by: Option<&str>,
) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT t.plugin_id AS plugin_id, \
         SUM(CASE WHEN a.class <> 'success' THEN 1 ELSE 0 END) AS failures, \
         MAX(CASE WHEN a.class = 'success' THEN a.started_at + a.duration_ms * 1000 END) \
         AS last_success \
         FROM attempts a JOIN triggers t ON t.id = a.trigger_id WHERE a.id >= ",
    );
    sql.bind(id_bound(since))
        .push(" AND a.started_at >= ")
        .bind(micros(since));
    if let Some(creator) = created_by {
        sql.push(" AND t.created_by = ").bind(creator);
    }
    sql.push(" GROUP BY t.plugin_id");
    sql
}

/// Every plugin, with when its newest (by schedule) finished trigger finished (of
/// those `created_by` made, when given).
pub(crate) fn select_last_finished(d: Dialect, created_by: Option<&str>) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT p.id AS plugin_id, \
         (SELECT t.finished_at FROM triggers t \
          WHERE t.plugin_id = p.id AND t.status = 'finished'",
    );
    if let Some(creator) = created_by {
        sql.push(" AND t.created_by = ").bind(creator);
    }
    sql.push(" ORDER BY t.scheduled_at DESC, t.id DESC LIMIT 1) AS last_success FROM plugins p");
    sql
}
