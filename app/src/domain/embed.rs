use serde::{Deserialize, Serialize};

use super::EntityRef;

/// What an embedded panel may show and do: the one entity its token names, and
/// whether it may re-run that entity's triggers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanelScope {
    pub entity: EntityRef,
    pub can_rerun: bool,
}
