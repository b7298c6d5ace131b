//! A modal dialog a keyboard user can live in.
//!
//! Built on the browser's own `<dialog>` opened with `showModal()`: the page
//! behind it becomes inert and Escape closes it without our help. On top of that
//! we move focus into it when it opens, keep Tab and Shift+Tab cycling inside
//! it (the browser would let focus leave for its own toolbar), and give focus
//! back to whatever opened it when it goes. It only ever exists in the browser
//! (it is created by a click), so hydration never meets it.

use leptos::html::Dialog;
use leptos::prelude::*;

/// A modal dialog titled `title`, removed by its parent when `on_close` runs
/// (the × button, Escape, or a click on the dimmed page behind it).
#[component]
pub fn Modal(
    /// The heading, which also names the dialog for screen readers.
    #[prop(into)]
    title: String,
    /// The dialog's `data-testid`.
    #[prop(into)]
    testid: String,
    on_close: Callback<()>,
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<Dialog>::new();
    // Read now, before the dialog takes focus: the button that opened it.
    let opener = browser::Opener::remember();
    Effect::new(move |_| {
        if let Some(el) = dialog.get() {
            browser::open(&el);
        }
    });
    on_cleanup(move || browser::close(dialog.get_untracked(), opener));
    let label = title.clone();
    view! {
        <dialog
            node_ref=dialog
            class="modal"
            aria-label=label
            data-testid=testid
            // Escape closes the dialog natively; the parent then removes it.
            on:close=move |_| {
                on_close.try_run(());
            }
            on:keydown=move |ev| {
                if let Some(el) = dialog.get_untracked() {
                    browser::keep_tab_inside(&el, &ev);
                }
            }
            // A click on the backdrop lands on the dialog itself; clicks on its
            // content land on the content, which fills the dialog's box.
            on:click=move |ev| {
                if browser::is_on_itself(&ev) {
                    on_close.run(());
                }
            }
        >
            <div class="modal-body">
                <header class="modal-head">
                    <h2>{title}</h2>
                    <button type="button" class="close" aria-label="Close" on:click=move |_| on_close.run(())>
                        "×"
                    </button>
                </header>
                {children()}
            </div>
        </dialog>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{HtmlDialogElement, HtmlElement, KeyboardEvent, MouseEvent};

    /// What can take focus inside a dialog, in document order.
    const FOCUSABLE: &str = "a[href], button:not([disabled]), input:not([disabled]), \
        select:not([disabled]), textarea:not([disabled]), summary, \
        [tabindex]:not([tabindex=\"-1\"])";

    /// Matches an element hidden in a closed `<details>` (its summary shows).
    const IN_CLOSED_DETAILS: &str = "details:not([open]) > :not(summary)";

    /// The element that had focus when a dialog opened.
    #[derive(Clone, Copy)]
    pub struct Opener(StoredValue<Option<HtmlElement>, LocalStorage>);

    impl Opener {
        pub fn remember() -> Opener {
            let focused = document()
                .active_element()
                .and_then(|el| el.dyn_into::<HtmlElement>().ok());
            Opener(StoredValue::new_local(focused))
        }
    }

    /// Show `dialog` as a modal and focus what it asks for (`autofocus`), or
    /// else the first thing in it that takes focus.
    pub fn open(dialog: &HtmlDialogElement) {
        if dialog.open() {
            return;
        }
        let _ = dialog.show_modal();
        let wanted = dialog
            .query_selector("[autofocus]")
            .ok()
            .flatten()
            .and_then(|el| el.dyn_into::<HtmlElement>().ok())
            .or_else(|| focusable(dialog).into_iter().next());
        if let Some(el) = wanted {
            let _ = el.focus();
        }
    }

    /// Close `dialog` (the page stops being inert) and give focus back.
    pub fn close(dialog: Option<HtmlDialogElement>, opener: Opener) {
        if let Some(dialog) = dialog {
            dialog.close();
        }
        if let Some(Some(el)) = opener.0.try_get_value() {
            if el.is_connected() {
                let _ = el.focus();
            }
        }
    }

    /// Tab from the last focusable element goes to the first, Shift+Tab from
    /// the first to the last; focus never leaves the dialog.
    pub fn keep_tab_inside(dialog: &HtmlDialogElement, ev: &KeyboardEvent) {
        if ev.key() != "Tab" {
            return;
        }
        let items = focusable(dialog);
        let (Some(first), Some(last)) = (items.first(), items.last()) else {
            ev.prevent_default();
            return;
        };
        let active = document().active_element();
        let is = |el: &HtmlElement| {
            let el: &web_sys::Element = el.as_ref();
            active.as_ref() == Some(el)
        };
        let inside = items.iter().any(is);
        let wrap_to = if ev.shift_key() && (is(first) || !inside) {
            Some(last)
        } else if !ev.shift_key() && (is(last) || !inside) {
            Some(first)
        } else {
            None
        };
        if let Some(el) = wrap_to {
            ev.prevent_default();
            let _ = el.focus();
        }
    }

    /// The click landed on the dialog element itself: on its backdrop.
    pub fn is_on_itself(ev: &MouseEvent) -> bool {
        let (Some(target), Some(current)) = (ev.target(), ev.current_target()) else {
            return false;
        };
        target == current
    }

    /// The elements in `dialog` that can take focus now (not those in a closed
    /// `<details>` or otherwise hidden).
    fn focusable(dialog: &HtmlDialogElement) -> Vec<HtmlElement> {
        let Ok(list) = dialog.query_selector_all(FOCUSABLE) else {
            return Vec::new();
        };
        (0..list.length())
            .filter_map(|i| list.item(i))
            .filter_map(|node| node.dyn_into::<HtmlElement>().ok())
            .filter(|el| el.offset_width() > 0 || el.offset_height() > 0)
            // Chrome still gives sizes to what a closed <details> hides.
            .filter(|el| matches!(el.closest(IN_CLOSED_DETAILS), Ok(None)))
            .collect()
    }
}

/// On the server a dialog is never open: nothing to do.
#[cfg(not(feature = "hydrate"))]
mod browser {
    use leptos::ev::{KeyboardEvent, MouseEvent};
    use leptos::html::Dialog;

    type Element = <Dialog as leptos::html::ElementType>::Output;

    #[derive(Clone, Copy)]
    pub struct Opener;

    impl Opener {
        pub fn remember() -> Opener {
            Opener
        }
    }

    pub fn open(_: &Element) {}

    pub fn close(_: Option<Element>, _: Opener) {}

    pub fn keep_tab_inside(_: &Element, _: &KeyboardEvent) {}

    pub fn is_on_itself(_: &MouseEvent) -> bool {
        false
    }
}
