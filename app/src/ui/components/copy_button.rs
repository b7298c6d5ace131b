use leptos::prelude::*;

/// Where a copy stands, as the button says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copy {
    Ready,
    Copied,
    Failed,
}

/// A button that puts `text` on the clipboard and says whether it did.
#[component]
pub fn CopyButton(
    text: String,
    /// What is copied, for screen readers ("the payload": "Copy the payload").
    #[prop(into)]
    what: String,
) -> impl IntoView {
    let state = RwSignal::new(Copy::Ready);
    let text = StoredValue::new(text);
    let copy = move |_| {
        let text = text.get_value();
        leptos::task::spawn_local(async move {
            let done = if crate::browser::write_clipboard(&text).await {
                Copy::Copied
            } else {
                Copy::Failed
            };
            state.try_set(done);
        });
    };
    view! {
        <button type="button" class="button copy" data-testid="copy" on:click=copy>
            {move || match state.get() {
                Copy::Ready => "Copy",
                Copy::Copied => "Copied",
                Copy::Failed => "Copy failed",
            }}
            <span class="visually-hidden">{format!(" {what}")}</span>
        </button>
        // The button's new word is not announced by itself.
        <span class="visually-hidden" role="status">
            {move || match state.get() {
                Copy::Ready => "",
                Copy::Copied => "Copied to the clipboard",
                Copy::Failed => "The browser refused to copy",
            }}
        </span>
    }
}
