//! The audit trail as admins read it: newest first, a page at a time, narrowed
//! by actor, action and time. Rows are written with what they record (reruns,
//! migrations, plugin and key changes, sign-ins) and never changed or removed.

use app::domain::{AuditQuery, Page};

use super::triggers::check_time;
use super::{decode_cursor, encode_cursor, Permission, Principal, Service, ServiceError};
use crate::storage::{AuditEntry, AuditFilter, Cursor};

const DEFAULT_LIMIT: u32 = 100;

impl Service {
    /// A page of the trail. Admins only.
    pub async fn audit_page(
        &self,
        who: &Principal,
        q: AuditQuery,
    ) -> Result<Page<AuditEntry>, ServiceError> {
        who.require(Permission::Administer)?;
        let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=500).contains(&limit) {
            return Err(ServiceError::invalid("limit", "limit is 1 to 500"));
        }
        for (field, value) in [("actor", &q.actor), ("action", &q.action)] {
            if let Some(v) = value {
                super::no_nul(field, v)?;
            }
        }
        let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
        let filter = AuditFilter {
            actor: q.actor,
            action: q.action,
            from: q.from.map(|t| check_time("from", t)).transpose()?,
            to: q.to.map(|t| check_time("to", t)).transpose()?,
        };
        let items = self.store.reads().audit_page(&filter, after, limit).await?;
        let next_cursor = (items.len() == limit as usize)
            .then(|| items.last())
            .flatten()
            .map(|last| {
                encode_cursor(&Cursor {
                    scheduled_at: last.at,
                    id: last.id,
                })
            });
        Ok(Page { items, next_cursor })
    }

    /// The newest `limit` rows of the trail. Admins only.
    pub async fn audit_trail(
        &self,
        who: &Principal,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, ServiceError> {
        let q = AuditQuery {
            limit: Some(limit),
            ..AuditQuery::default()
        };
        Ok(self.audit_page(who, q).await?.items)
    }
}
