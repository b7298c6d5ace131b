//! The whole filtered log, for taking away as a file: checked and narrowed to
//! the caller like the list, then read page by page along the list's own index
//! order, so memory stays constant however many rows match.

use futures::stream::{self, Stream};

use app::domain::{Trigger, TriggerFilter};

use super::{Permission, Principal, Service, ServiceError};
use crate::storage::{Cursor, StoreFilter};

/// Rows read per page while streaming.
const EXPORT_PAGE: u32 = 500;

/// An export that was checked and may start: how many rows it holds, and the rows.
pub struct Export {
    pub rows: u64,
    pub pages: std::pin::Pin<Box<dyn Stream<Item = Result<Vec<Trigger>, ServiceError>> + Send>>,
}

impl Service {
    /// Check an export: the filter as the list reads it, narrowed to what `who`
    /// sees, and at most `max_export_rows` rows (more is refused before anything
    /// is sent, so a file is never silently cut short).
    pub async fn export_triggers(
        &self,
        who: &Principal,
        filter: TriggerFilter,
    ) -> Result<Export, ServiceError> {
        who.require(Permission::Read)?;
        let filter = self.resolve_filter(who, filter).await?;
        let rows = self.store.reads().count_triggers(&filter).await?;
        let cap = self.limits().max_export_rows;
        if rows > cap {
            return Err(ServiceError::invalid(
                "filter",
                format!(
                    "these filters match {rows} triggers and an export holds at most {cap} \
                     (CALLTRAIL_EXPORT_MAX_ROWS): narrow them, for example by a time range"
                ),
            ));
        }
        Ok(Export {
            rows,
            pages: Box::pin(pages(self.store.clone(), filter)),
        })
    }
}

/// Every page of a filter, newest first; ends after the first short page.
fn pages(
    store: crate::storage::SharedStore,
    filter: StoreFilter,
) -> impl Stream<Item = Result<Vec<Trigger>, ServiceError>> + Send {
    stream::unfold(Some(None::<Cursor>), move |state| {
        let store = store.clone();
        let filter = filter.clone();
        async move {
            let after = state?;
            match store
                .reads()
                .list_triggers(&filter, after, EXPORT_PAGE)
                .await
            {
                Err(e) => Some((Err(e.into()), None)),
                Ok(page) => {
                    let next = (page.len() == EXPORT_PAGE as usize).then(|| {
                        page.last().map(|t| Cursor {
                            scheduled_at: t.scheduled_at,
                            id: t.id,
                        })
                    });
                    if page.is_empty() {
                        None
                    } else {
                        Some((Ok(page), next))
                    }
                }
            }
        }
    })
}
