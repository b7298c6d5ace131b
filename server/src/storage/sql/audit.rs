//! The audit trail: rows are inserted, read newest first, and never changed.

use super::*;
use crate::storage::{AuditEntry, AuditFilter};

pub(crate) fn insert_audit(d: Dialect, a: &AuditEntry) -> Sql {
    let mut sql = Sql::new(
        d,
        "INSERT INTO audit_log (id, at, actor, action, target, reason, client, details) VALUES ",
    );
    sql.bind_row(vec![
        a.id.into(),
        micros(a.at).into(),
        a.actor.clone().into(),
        a.action.clone().into(),
        a.target.clone().into(),
        a.reason.clone().into(),
        a.client.clone().into(),
        a.details.to_string().into(),
    ]);
    sql
}

pub(crate) fn select_audit(d: Dialect, limit: u32) -> Sql {
    select_audit_page(d, &AuditFilter::default(), None, limit)
}

/// A page of the trail, newest first, strictly after `after` in that order.
pub(crate) fn select_audit_page(
    d: Dialect,
    f: &AuditFilter,
    after: Option<Cursor>,
    limit: u32,
) -> Sql {
    let mut sql = Sql::new(
        d,
        "SELECT id, at, actor, action, target, reason, client, details FROM audit_log WHERE 1 = 1",
    );
    if let Some(actor) = &f.actor {
        sql.push(" AND actor = ").bind(actor.clone());
    }
    if let Some(action) = &f.action {
        sql.push(" AND action = ").bind(action.clone());
    }
    if let Some(from) = f.from {
        sql.push(" AND at >= ").bind(micros(from));
    }
    if let Some(to) = f.to {
        sql.push(" AND at < ").bind(micros(to));
    }
    if let Some(c) = after {
        let at = micros(c.scheduled_at);
        sql.push(" AND (at < ")
            .bind(at)
            .push(" OR (at = ")
            .bind(at)
            .push(" AND id < ")
            .bind(c.id)
            .push("))");
    }
    sql.push(" ORDER BY at DESC, id DESC LIMIT ")
        .bind(limit as i64);
    sql
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: Uuid,
    at: Micros,
    actor: String,
    action: String,
    target: String,
    reason: String,
    client: Option<String>,
    details: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        Ok(AuditEntry {
            id: r.id,
            at: from_micros(r.at),
            actor: r.actor,
            action: r.action,
            target: r.target,
            reason: r.reason,
            client: r.client,
            details: json("audit details", &r.details)?,
        })
    }
}
