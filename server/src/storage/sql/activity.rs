//! Activity: how plugins are doing (failed attempts in a recent window, the last
//! success), and the log's chart (attempts per period and class, for a filter).
//!
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
    pub last_success: Option<Micros>,
}

/// When a plugin's newest finished trigger finished.
#[derive(sqlx::FromRow)]
pub(crate) struct LastFinishedRow {
    pub plugin_id: Uuid,
    pub last_success: Option<Micros>,
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
    let ended = match d {
        Dialect::Sqlite => "a.started_at + a.duration_ms * 1000",
        Dialect::Postgres => "a.started_at + a.duration_ms * INTERVAL '1 millisecond'",
    };
    let mut sql = Sql::new(
        d,
        format!(
            "SELECT t.plugin_id AS plugin_id, \
             SUM(CASE WHEN a.class <> 'success' THEN 1 ELSE 0 END) AS failures, \
             MAX(CASE WHEN a.class = 'success' THEN {ended} END) AS last_success \
             FROM attempts a JOIN triggers t ON t.id = a.trigger_id WHERE a.id >= "
        ),
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

// The activity chart: attempts per period and class, for a list's filter.

/// Attempts started in `[from, from + bucket * buckets)` of the triggers `f`
/// matches, counted per period (`(started_at - from) / bucket`) and class. Driven
/// by the attempts' start times (`attempts_by_started`), joined to their triggers
/// for the filter.
pub(crate) fn count_attempt_activity(
    d: Dialect,
    f: &StoreFilter,
    from: DateTime<Utc>,
    bucket: chrono::Duration,
    buckets: u32,
) -> Sql {
    let bucket_us = bucket.num_microseconds().unwrap_or(i64::MAX).max(1);
    let to = Micros(
        micros(from)
            .0
            .saturating_add(bucket_us.saturating_mul(buckets as i64)),
    );
    // Microseconds since `from`: a subtraction of integers on SQLite, of
    // timestamps (an interval, read back in microseconds) on PostgreSQL.
    let mut sql = Sql::new(
        d,
        match d {
            Dialect::Sqlite => "SELECT (a.started_at - ",
            Dialect::Postgres => "SELECT CAST(EXTRACT(EPOCH FROM a.started_at - ",
        },
    );
    sql.bind(micros(from))
        .push(match d {
            Dialect::Sqlite => ") / ",
            Dialect::Postgres => ") * 1000000 AS BIGINT) / ",
        })
        .bind(bucket_us)
        .push(
            " AS bucket, a.class AS class, COUNT(*) AS n FROM attempts a \
             JOIN triggers t ON t.id = a.trigger_id JOIN plugins p ON p.id = t.plugin_id \
             WHERE a.started_at >= ",
        )
        .bind(micros(from))
        .push(" AND a.started_at < ")
        .bind(to);
    push_trigger_filter(&mut sql, f);
    sql.push(" GROUP BY 1, 2");
    sql
}

/// One (period, class) count of [`count_attempt_activity`].
#[derive(sqlx::FromRow)]
pub(crate) struct ActivityRow {
    pub bucket: i64,
    pub class: String,
    pub n: i64,
}
