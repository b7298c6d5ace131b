//! The activity chart: attempts per period and class, for a list's filter.

use super::*;

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
    let to = micros(from) + bucket_us.saturating_mul(buckets as i64);
    let mut sql = Sql::new(d, "SELECT (a.started_at - ");
    sql.bind(micros(from))
        .push(") / ")
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
