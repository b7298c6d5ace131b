//! A measuring probe, not part of Calltrail: how big is the wasm of a Leptos 0.8
//! app in islands mode (only the interactive parts hydrate), for the
//! administrator's UI's budget of 300 KB gzipped (issue 13; BENCHMARKS.md,
//! "Release wasm size")? Five islands shaped like the log page's interactive
//! parts (filter bar with a gloo-timers debounce, payload dialog fetching through
//! a server function, re-run form, live "n new" poller, local times), built like
//! the real client (opt-level z, fat LTO, one codegen unit, panic abort, then
//! wasm-bindgen and wasm-opt -Oz). `--features floor` keeps only the smallest
//! island: Leptos's own share. Run `bench/scripts/islands-probe`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Attempt {
    pub number: u32,
    pub status: Option<u16>,
    pub class: String,
    pub duration_ms: i64,
    pub body: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Detail {
    pub id: uuid::Uuid,
    pub payload: serde_json::Value,
    pub attempts: Vec<Attempt>,
    pub logs: Vec<(String, String)>,
}

#[cfg(not(feature = "floor"))]
#[server]
pub async fn load_detail(id: uuid::Uuid) -> Result<Detail, ServerFnError> {
    unreachable!()
}

#[cfg(not(feature = "floor"))]
#[server]
pub async fn rerun(id: uuid::Uuid, reason: String, resume: bool) -> Result<String, ServerFnError> {
    unreachable!()
}

#[cfg(not(feature = "floor"))]
#[server]
pub async fn count_new(after: String, q: String) -> Result<u64, ServerFnError> {
    unreachable!()
}

#[cfg(not(feature = "floor"))]
/// Filter bar: every filter as a signal; debounced search navigates.
#[island]
pub fn FilterBar(
    q: String,
    plugins: Vec<String>,
    statuses: Vec<String>,
    chosen: Vec<String>,
) -> impl IntoView {
    let q = RwSignal::new(q);
    let chosen = RwSignal::new(chosen);
    let go = move || {
        let mut parts = vec![format!("q={}", js_sys::encode_uri_component(&q.get()))];
        for c in chosen.get() {
            parts.push(format!("status={c}"));
        }
        let _ = window().location().set_search(&parts.join("&"));
    };
    let pending = StoredValue::new_local(None::<gloo_timers::callback::Timeout>);
    view! {
        <form on:submit=move |ev| { ev.prevent_default(); go(); }>
            <input type="search" prop:value=q on:input=move |ev| {
                q.set(event_target_value(&ev));
                pending.set_value(Some(gloo_timers::callback::Timeout::new(300, go)));
            }/>
            <fieldset>{statuses.into_iter().map(|s| { let s2 = s.clone(); view! {
                <label><input type="checkbox" prop:checked=move || chosen.with(|c| c.contains(&s2))
                   on:change={ let s = s.clone(); move |_| chosen.update(|c| if let Some(i) = c.iter().position(|x| x == &s) { c.remove(i); } else { c.push(s.clone()); }) } />{s.clone()}</label>
            }}).collect_view()}</fieldset>
            <select multiple>{plugins.into_iter().map(|p| view!{<option>{p}</option>}).collect_view()}</select>
            <button type="button" on:click=move |_| { q.set(String::new()); chosen.set(vec![]); go(); }>"Clear all"</button>
        </form>
    }
}

#[cfg(not(feature = "floor"))]
/// Payload / logs dialog: fetches on open, pretty-prints, Esc closes, copy.
#[island]
pub fn DetailButton(id: uuid::Uuid) -> impl IntoView {
    let open = RwSignal::new(false);
    let detail = Resource::new(
        move || open.get().then_some(id),
        |id| async move {
            match id {
                Some(id) => load_detail(id).await.ok(),
                None => None,
            }
        },
    );
    view! {
        <button on:click=move |_| open.set(true)>"Payload"</button>
        <Show when=move || open.get()>
            <div role="dialog" on:keydown=move |ev: web_sys::KeyboardEvent| if ev.key() == "Escape" { open.set(false) }>
                <Suspense fallback=|| view!{<p>"Loading…"</p>}>
                {move || detail.get().flatten().map(|d| {
                    let text = serde_json::to_string_pretty(&d.payload).unwrap_or_default();
                    let copy = text.clone();
                    view! {
                        <pre>{text}</pre>
                        <button on:click=move |_| { let _ = window().navigator().clipboard().write_text(&copy); }>"Copy"</button>
                        <ol>{d.attempts.into_iter().map(|a| view!{<li>{a.number}" "{a.class}" "{a.status.map(|s| s.to_string())}" "{format!("{} ms", a.duration_ms)}</li>}).collect_view()}</ol>
                        <ul>{d.logs.into_iter().map(|(at, m)| view!{<li><time>{at}</time>{m}</li>}).collect_view()}</ul>
                    }
                })}
                </Suspense>
                <button on:click=move |_| open.set(false)>"Close"</button>
            </div>
        </Show>
    }
}

#[cfg(not(feature = "floor"))]
/// Rerun: reason, resume flag, server fn, result message.
#[island]
pub fn RerunButton(id: uuid::Uuid) -> impl IntoView {
    let act = ServerAction::<Rerun>::new();
    let open = RwSignal::new(false);
    view! {
        <button on:click=move |_| open.set(true)>"Re-run"</button>
        <Show when=move || open.get()>
            <ActionForm action=act>
                <input type="hidden" name="id" value=id.to_string()/>
                <textarea name="reason" required></textarea>
                <label><input type="checkbox" name="resume" value="true"/>"Resume retries"</label>
                <button type="submit">"Re-run"</button>
            </ActionForm>
            {move || act.value().get().map(|r| match r { Ok(m) => view!{<p>{m}</p>}.into_any(), Err(e) => view!{<p class="error">{e.to_string()}</p>}.into_any() })}
        </Show>
    }
}

#[cfg(not(feature = "floor"))]
/// "3 new — show": polls a count every 5 s.
#[island]
pub fn LiveNew(after: String, q: String) -> impl IntoView {
    let n = RwSignal::new(0u64);
    let tick = RwSignal::new(0u32);
    Effect::new(move |_| {
        tick.get();
        let (after, q) = (after.clone(), q.clone());
        leptos::task::spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(5000).await;
            if let Ok(c) = count_new(after, q).await {
                n.set(c);
            }
            tick.update(|t| *t += 1);
        });
    });
    view! { <Show when=move || n.get().gt(&0)><button on:click=move |_| { let _ = window().location().reload(); }>{move || format!("{} new — show", n.get())}</button></Show> }
}

/// Local times: rewrite every <time datetime> into the browser's zone.
#[island]
pub fn LocalTimes() -> impl IntoView {
    Effect::new(move |_| {
        let doc = document();
        if let Ok(list) = doc.query_selector_all("time[datetime]") {
            for i in 0..list.length() {
                let Some(node) = list.item(i) else { continue };
                let el: web_sys::Element = wasm_bindgen::JsCast::unchecked_into(node);
                if let Some(iso) = el.get_attribute("datetime") {
                    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&iso));
                    let s: String = d
                        .to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED)
                        .into();
                    el.set_text_content(Some(&s));
                }
            }
        }
    });
}

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
