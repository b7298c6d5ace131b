//! The plugins page's figures: which plugins run, how often their calls failed in
//! the last day, and when one last went through.

use app::domain::PluginHealth;

use super::visibility::lists_triggers_of;
use super::{now, Permission, Principal, Service, ServiceError};

/// The window failures are counted over.
pub const HEALTH_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

impl Service {
    /// Each plugin whose triggers `who` sees in the log (its plugin scope; only
    /// active ones unless `who` is an admin), by name, with its recent figures,
    /// counted over the triggers `who` may read (an ingest key: its own). An
    /// embedded panel, which sees one entity, has no plugins page.
    pub async fn plugin_health(&self, who: &Principal) -> Result<Vec<PluginHealth>, ServiceError> {
        who.require(Permission::Read)?;
        if who.entity.is_some() {
            return Err(ServiceError::forbidden(
                "an embedded panel shows one entity's triggers, not plugins",
            ));
        }
        let own = who.own_triggers_only();
        let activity = self
            .store
            .reads()
            .plugin_activity(now() - HEALTH_WINDOW, own.as_deref())
            .await?;
        Ok(self
            .stored_plugins()
            .await?
            .into_iter()
            .filter(|p| lists_triggers_of(who, p, false))
            .map(|p| {
                let a = activity.iter().find(|a| a.plugin_id == p.id);
                PluginHealth {
                    id: p.id,
                    name: p.name,
                    display_name: p.display_name,
                    active: p.active,
                    failures_24h: a.map_or(0, |a| a.failures),
                    last_success_at: a.and_then(|a| a.last_success_at),
                }
            })
            .collect())
    }
}
