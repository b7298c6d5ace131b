//! An embedded panel tells the page that frames it how tall it is, so that page
//! can size its iframe to fit: `{type: "calltrail:height", height}` by
//! `postMessage`, once hydrated and whenever the content's height changes.

/// Start telling the parent frame this document's height (in the browser; nothing
/// on the server).
pub fn report_height_to_parent() {
    #[cfg(feature = "hydrate")]
    browser::observe();
}

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;

    pub fn observe() {
        // The body, not the whole document: the document is at least as tall as
        // the frame, so its height would never shrink back.
        let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        else {
            return;
        };
        let root: web_sys::Element = root.into();
        post_height(&root);
        let watched = root.clone();
        let on_resize = Closure::<dyn FnMut()>::new(move || post_height(&watched));
        if let Ok(observer) = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()) {
            observer.observe(&root);
        }
        // The observer lives as long as the document, and so must its callback.
        on_resize.forget();
    }

    fn post_height(root: &web_sys::Element) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let Ok(Some(parent)) = window.parent() else {
            return;
        };
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"type".into(), &"calltrail:height".into());
        let _ = js_sys::Reflect::set(
            &message,
            &"height".into(),
            &JsValue::from(root.scroll_height()),
        );
        let _ = parent.post_message(&message, "*");
    }
}
