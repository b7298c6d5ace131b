use leptos::prelude::*;

/// A button that puts `text` on the clipboard and says so (or says to copy by
/// hand where the browser refuses). `label` names what it copies, for screen
/// readers and tests ("Copy key").
#[component]
pub fn CopyButton(text: String, label: &'static str) -> impl IntoView {
    let said = RwSignal::new("");
    let text = StoredValue::new(text);
    let on_click = move |_| {
        let text = text.get_value();
        leptos::task::spawn_local(async move {
            said.set(if clipboard::write(&text).await {
                "Copied."
            } else {
                "Copying failed: select the text and copy it."
            });
        });
    };
    view! {
        <button type="button" class="copy" aria-label=label on:click=on_click>"Copy"</button>
        <span class="copy-said" role="status">{move || said.get()}</span>
    }
}

/// The browser's clipboard (nothing to write to on the server).
mod clipboard {
    #[cfg(feature = "hydrate")]
    pub async fn write(text: &str) -> bool {
        let Some(window) = web_sys::window() else {
            return false;
        };
        let promise = window.navigator().clipboard().write_text(text);
        wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
    }

    #[cfg(not(feature = "hydrate"))]
    pub async fn write(_text: &str) -> bool {
        false
    }
}
