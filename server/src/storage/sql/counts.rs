//! Counting triggers: by walking the filter's index, or, for a filter of plugins
//! and statuses only, from the totals the database keeps (`trigger_counts`,
//! migration 0024: kept by triggers on `triggers` on both databases).

use super::*;

/// How many triggers a filter matches (the count page's number, a dry run's count).
pub(crate) fn count_triggers(d: Dialect, f: &StoreFilter) -> Sql {
    let mut sql = Sql::new(d, "SELECT COUNT(*) AS n");
    push_filtered_from(&mut sql, f, QPlan::Index, false);
    sql
}

/// How many triggers a filter matches per status (the list's count).
pub(crate) fn count_triggers_by_status(d: Dialect, f: &StoreFilter) -> Sql {
    let mut sql = Sql::new(d, "SELECT t.status AS status, COUNT(*) AS n");
    push_filtered_from(&mut sql, f, QPlan::Index, false);
    sql.push(" GROUP BY t.status");
    sql
}

/// Whether a filter names nothing but plugins (asked for, or visible) and
/// statuses, so its counts are the kept totals'.
pub(crate) fn counted_in_totals(f: &StoreFilter) -> bool {
    let StoreFilter {
        plugin_ids: _,
        visible_plugin_ids: _,
        statuses: _,
        created_by,
        event_type,
        entity_type,
        entity_id,
        aggregation_key,
        scheduled_from,
        scheduled_to,
        triggered_from,
        triggered_to,
        q,
    } = f;
    created_by.is_none()
        && event_type.is_none()
        && entity_type.is_none()
        && entity_id.is_none()
        && aggregation_key.is_none()
        && [scheduled_from, scheduled_to, triggered_from, triggered_to]
            .iter()
            .all(|t| t.is_none())
        && q.as_deref().map(fold).is_none_or(|q| q.is_empty())
}

/// The kept totals per status for a filter [`counted_in_totals`] accepts: the
/// same conditions as the list's, over `trigger_counts` (a row per plugin and
/// status on SQLite; rows of differences on PostgreSQL, hence the sum).
pub(crate) fn count_totals_by_status(d: Dialect, f: &StoreFilter) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT t.status AS status, CAST(SUM(t.n) AS BIGINT) AS n FROM trigger_counts t WHERE 1=1",
    );
    push_trigger_filter(&mut sql, f);
    sql.push(" GROUP BY t.status HAVING SUM(t.n) > 0");
    sql
}

/// PostgreSQL: the rows of differences folded into one row per plugin and
/// status, in one statement. Rows added meanwhile are not in its snapshot and
/// stay for the next fold; two folds at once each move only the rows they deleted.
pub(crate) fn fold_trigger_counts() -> Sql {
    Sql::new(
        Dialect::Postgres,
        "WITH gone AS (DELETE FROM trigger_counts RETURNING plugin_id, status, n) \
         INSERT INTO trigger_counts (plugin_id, status, n) \
         SELECT plugin_id, status, SUM(n) FROM gone GROUP BY plugin_id, status HAVING SUM(n) <> 0",
    )
}

/// How many rows a statement counted.
#[derive(sqlx::FromRow)]
pub(crate) struct CountRow {
    pub n: i64,
}
