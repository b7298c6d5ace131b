//! What a caller can see. Lists, counts, group reruns, migrations and exports
//! narrow their filter here; a single trigger outside what a caller can see is
//! "not found", exactly like one that does not exist.
//!
//! - A plugin scope (a user or key limited to some plugins) hides other plugins.
//! - Non-admins see only active plugins' triggers in lists unless they ask
//!   (`include_inactive`); a single trigger stays readable by its id.
//! - An `ingest` caller sees only the triggers it created.
//! - An embed token's holder sees only its one entity.

use uuid::Uuid;

use app::domain::{Plugin, Trigger};

use super::{Principal, Service, ServiceError};
use crate::storage::StoreFilter;

impl Service {
    /// Narrow a list's filter to what `who` can see.
    pub(crate) async fn narrow_to_visible(
        &self,
        who: &Principal,
        filter: &mut StoreFilter,
        include_inactive: bool,
    ) -> Result<(), ServiceError> {
        filter.visible_plugin_ids = self.visible_plugins(who, include_inactive).await?;
        filter.created_by = who.own_triggers_only();
        if let Some(scope) = &who.entity {
            let asks_other = filter
                .entity_type
                .as_ref()
                .is_some_and(|t| *t != scope.entity_type)
                || filter
                    .entity_id
                    .as_ref()
                    .is_some_and(|i| *i != scope.entity_id);
            if asks_other {
                filter.visible_plugin_ids = Some(Vec::new());
            }
            filter.entity_type = Some(scope.entity_type.clone());
            filter.entity_id = Some(scope.entity_id.clone());
        }
        Ok(())
    }

    /// The plugins whose triggers `who` sees in lists; `None` is all of them.
    async fn visible_plugins(
        &self,
        who: &Principal,
        include_inactive: bool,
    ) -> Result<Option<Vec<Uuid>>, ServiceError> {
        if who.plugins.is_none() && (who.is_admin() || include_inactive) {
            return Ok(None);
        }
        let all = self.store.reads().list_plugins().await?;
        let visible: Vec<Uuid> = all
            .iter()
            .map(|r| &r.plugin)
            .filter(|p| lists_triggers_of(who, p, include_inactive))
            .map(|p| p.id)
            .collect();
        // Every plugin: no condition at all keeps the query on its best index.
        Ok((visible.len() < all.len()).then_some(visible))
    }

    /// 404 unless `who` may see this trigger.
    pub(crate) async fn check_visible(
        &self,
        who: &Principal,
        trigger: &Trigger,
    ) -> Result<(), ServiceError> {
        let entity_ok = who.entity.as_ref().is_none_or(|scope| {
            trigger
                .entity
                .as_ref()
                .is_some_and(|e| e.entity_type == scope.entity_type && e.id == scope.entity_id)
        });
        let mut visible = who.sees_plugin(trigger.plugin_id) && entity_ok;
        if visible {
            if let Some(tag) = who.own_triggers_only() {
                visible = self
                    .store
                    .reads()
                    .trigger_creator(trigger.id)
                    .await?
                    .as_deref()
                    == Some(&tag);
            }
        }
        if visible {
            Ok(())
        } else {
            Err(ServiceError::not_found(format!(
                "no trigger {}",
                trigger.id
            )))
        }
    }
}

/// Whether `who`'s lists hold this plugin's triggers: within its plugin scope, and
/// active unless `who` is an admin or asks for inactive ones too.
pub(crate) fn lists_triggers_of(who: &Principal, plugin: &Plugin, include_inactive: bool) -> bool {
    who.sees_plugin(plugin.id) && (plugin.active || who.is_admin() || include_inactive)
}
