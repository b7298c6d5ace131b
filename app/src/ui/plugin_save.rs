//! Saving a plugin from one of its page's forms (its settings, its credentials):
//! the call, and what the form says afterwards — the server's answer, or the field
//! the form itself could not read, which never reaches the server.

use leptos::prelude::*;

use super::components::ErrorNote;
use crate::domain::{ErrorBody, Plugin, PluginChanges};
use crate::server_fns::update_plugin;

#[derive(Clone, Copy)]
pub struct PluginSave {
    action: Action<PluginChanges, Result<Plugin, ErrorBody>>,
    outcome: RwSignal<Option<Result<(), ErrorBody>>>,
}

impl PluginSave {
    /// Saves go to `plugin`; `saved` hears the plugin as the server holds it after each.
    pub fn new(plugin: String, saved: impl Fn(Plugin) + 'static) -> PluginSave {
        let action = Action::new(move |changes: &PluginChanges| {
            update_plugin(plugin.clone(), changes.clone())
        });
        let outcome = RwSignal::new(None);
        Effect::new(move |_| {
            if let Some(result) = action.value().get() {
                outcome.set(Some(result.clone().map(|_| ())));
                if let Ok(p) = result {
                    saved(p);
                }
            }
        });
        PluginSave { action, outcome }
    }

    /// Send what the form read, or show why it could not be read.
    pub fn submit(self, changes: Result<PluginChanges, ErrorBody>) {
        match changes {
            Ok(changes) => {
                self.outcome.set(None);
                self.action.dispatch(changes);
            }
            Err(e) => self.outcome.set(Some(Err(e))),
        }
    }

    /// A save is under way: the form's button waits.
    pub fn pending(self) -> bool {
        self.action.pending().get()
    }
}

/// After a save: `children` (what succeeded, in words) as a status with
/// `testid`, or the error naming its field.
#[component]
pub fn SaveOutcome(save: PluginSave, testid: &'static str, children: ChildrenFn) -> impl IntoView {
    move || match save.outcome.get() {
        Some(Ok(())) => view! {
            <p class="success" role="status" data-testid=testid>{children()}</p>
        }
        .into_any(),
        Some(Err(e)) => view! { <ErrorNote error=e/> }.into_any(),
        None => ().into_any(),
    }
}
