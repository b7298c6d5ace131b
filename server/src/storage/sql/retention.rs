//! Retention: which old triggers lose their details or their rows, and the
//! statements that remove them. Old triggers are found by walking the primary key
//! (UUIDv7, so in creation order) from the oldest up to ids created before the
//! cutoff: the walk touches old rows only, and it needs no extra index that every
//! finished trigger would pay for on the hot path.

use super::*;

/// "The trigger is final", written so that it never picks the status index: the
/// walk and the lookups by id must go through the primary key. SQLite, without
/// statistics, would otherwise prefer `triggers_by_status` and read every final
/// trigger (a million) for each batch of 500; its unary `+` keeps the column
/// out of index choices. PostgreSQL's statistics choose the primary key anyway.
pub(crate) fn is_final(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "+status IN ('finished', 'erroneous')",
        Dialect::Postgres => "status IN ('finished', 'erroneous')",
    }
}

/// Which tier a selection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tier {
    /// Payload, attempts and logs removed; the summary row stays.
    Details,
    /// The whole trigger removed.
    Summary,
}

/// The smallest UUIDv7 of an instant: every id below it was created before then.
pub(crate) fn id_bound(at: DateTime<Utc>) -> Uuid {
    let ms = at.timestamp_millis().max(0) as u64;
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6] = 0x70; // version 7
    bytes[8] = 0x80; // RFC 4122 variant
    Uuid::from_bytes(bytes)
}

/// Final triggers of the given plugins (all when `plugins` is `None`) that
/// finished before `cutoff` (and not before `not_before`, when given) and still
/// hold what `tier` removes, oldest first.
pub(crate) fn select_expired(
    d: Dialect,
    tier: Tier,
    cutoff: DateTime<Utc>,
    not_before: Option<DateTime<Utc>>,
    plugins: Option<&[Uuid]>,
    after: Option<Uuid>,
    limit: u32,
) -> Sql {
    let mut sql = Sql::new(
        d,
        format!("SELECT id FROM triggers WHERE {} AND id < ", is_final(d)),
    );
    sql.bind(id_bound(cutoff))
        .push(" AND finished_at < ")
        .bind(micros(cutoff));
    if tier == Tier::Details {
        sql.push(" AND details_removed_at IS NULL");
    }
    if let Some(t) = not_before {
        sql.push(" AND finished_at >= ").bind(micros(t));
    }
    if let Some(ids) = plugins {
        if ids.is_empty() {
            sql.push(" AND 1=0");
        } else {
            // Not through `triggers_by_plugin` either (a sort of all its triggers).
            let column = match d {
                Dialect::Sqlite => " AND +plugin_id IN ",
                Dialect::Postgres => " AND plugin_id IN ",
            };
            sql.push(column)
                .bind_row(ids.iter().map(|id| Arg::from(*id)).collect());
        }
    }
    if let Some(after) = after {
        sql.push(" AND id > ").bind(after);
    }
    sql.push(" ORDER BY id LIMIT ").bind(limit as i64);
    sql
}

/// `DELETE FROM {table} WHERE trigger_id IN (ids) AND the trigger is still final`.
/// Only final triggers: one re-run meanwhile keeps its new attempt.
///
/// The ids are named on the child's own column as well as in the subquery: with
/// them only inside it, PostgreSQL planned `trigger_logs` (several rows per
/// trigger) as a hash join over a sequential scan of the whole table, 49 ms for
/// a batch of 1,000 at 200,000 triggers and growing with the table; named here,
/// it walks `trigger_logs_by_trigger` for just those triggers (3 ms).
pub(crate) fn delete_children(d: Dialect, table: &str, ids: &[Uuid]) -> Sql {
    let ids = || ids.iter().map(|id| Arg::from(*id)).collect();
    let mut sql = Sql::new(d, format!("DELETE FROM {table} WHERE trigger_id IN "));
    sql.bind_row(ids())
        .push(&format!(
            " AND trigger_id IN (SELECT id FROM triggers WHERE {} AND id IN ",
            is_final(d)
        ))
        .bind_row(ids())
        .push(")");
    sql.once()
}

/// Mark details removed (after the children are gone, so an interrupted pass is redone).
pub(crate) fn mark_details_removed(d: Dialect, ids: &[Uuid], at: DateTime<Utc>, why: &str) -> Sql {
    let mut sql = Sql::new(
        d,
        "UPDATE triggers SET payload = 'null', details_removed_at = ",
    );
    sql.bind(micros(at))
        .push(", details_removed_why = ")
        .bind(why.to_string())
        .push(&format!(" WHERE {} AND id IN ", is_final(d)))
        .bind_row(ids.iter().map(|id| Arg::from(*id)).collect());
    sql.once()
}

pub(crate) fn delete_final_triggers(d: Dialect, ids: &[Uuid]) -> Sql {
    let mut sql = Sql::new(
        d,
        format!("DELETE FROM triggers WHERE {} AND id IN ", is_final(d)),
    );
    sql.bind_row(ids.iter().map(|id| Arg::from(*id)).collect());
    sql.once()
}

/// Triggers of one entity whose details are still there (erasure).
pub(crate) fn select_entity_triggers(
    d: Dialect,
    entity_type: &str,
    entity_id: &str,
    after: Option<Uuid>,
    limit: u32,
) -> Sql {
    let mut sql = Sql::new(d, "SELECT id FROM triggers WHERE entity_type = ");
    sql.bind(entity_type.to_string())
        .push(" AND entity_id = ")
        .bind(entity_id.to_string());
    if let Some(after) = after {
        sql.push(" AND id > ").bind(after);
    }
    sql.push(" ORDER BY id LIMIT ").bind(limit as i64);
    sql
}

/// Take or renew a job's lease: one row changes when it was free, expired or ours.
pub(crate) fn take_job_lease(
    d: Dialect,
    name: &str,
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Sql {
    let mut sql = Sql::new(
        d,
        "INSERT INTO job_leases (name, owner, expires_at) VALUES ",
    );
    sql.bind_row(vec![
        name.to_string().into(),
        owner.to_string().into(),
        micros(until).into(),
    ])
    .push(" ON CONFLICT (name) DO UPDATE SET owner = ")
    .bind(owner.to_string())
    .push(", expires_at = ")
    .bind(micros(until))
    .push(" WHERE job_leases.expires_at < ")
    .bind(micros(now))
    .push(" OR job_leases.owner = ")
    .bind(owner.to_string());
    sql
}

pub(crate) fn give_up_job_lease(d: Dialect, name: &str, owner: &str) -> Sql {
    let mut sql = Sql::new(d, "DELETE FROM job_leases WHERE name = ");
    sql.bind(name.to_string())
        .push(" AND owner = ")
        .bind(owner.to_string());
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_bound_sorts_below_every_id_made_at_or_after_its_instant() {
        let at = Utc::now();
        let bound = id_bound(at);
        assert_eq!(bound.get_version_num(), 7);
        let later = Uuid::now_v7();
        assert!(bound <= later);
        let earlier = id_bound(at - chrono::Duration::milliseconds(1));
        assert!(earlier < bound);
    }

    #[test]
    fn a_batchs_statements_name_the_ids_on_the_child_and_are_not_kept() {
        let ids = [Uuid::now_v7(), Uuid::now_v7()];
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            let children = delete_children(d, "trigger_logs", &ids);
            // The ids on the child's own column first, so its index is walked.
            assert!(
                children
                    .text
                    .starts_with("DELETE FROM trigger_logs WHERE trigger_id IN ("),
                "{}",
                children.text
            );
            assert_eq!(children.args.len(), 4);
            // A list's length changes with every batch: no statement cache keeps it.
            let statements = [
                children,
                mark_details_removed(d, &ids, Utc::now(), "retention"),
                delete_final_triggers(d, &ids),
                crate::storage::sql::clear_search_body(d, &ids),
            ];
            for s in statements {
                assert!(!s.kept, "kept: {}", s.text);
            }
        }
    }
}
