use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;

use crate::domain::{AuditEntry, AuditQuery, ErrorBody, Page};
use crate::server_fns::read_audit_trail;
use crate::ui::caller::{for_admins, use_caller, AdminOnly};
use crate::ui::components::{DateRange, LocalTime};

const PATH: &str = "/audit";

/// Actions the server records, offered as suggestions for the action filter.
const KNOWN_ACTIONS: [&str; 13] = [
    "api_key.create",
    "api_key.revoke",
    "embed_token.issue",
    "entity.erase",
    "plugin.create",
    "plugin.update",
    "rerun",
    "rerun.group",
    "user.changed",
    "user.created",
    "user.sign_in_failed",
    "user.signed_in",
    "user.signed_out",
];

/// The audit trail, newest first, a page at a time. The address bar holds the
/// filters and the page (`actor`, `action`, `from`, `to`, `cursor`), read by the
/// same parser as `GET /api/v1/audit`, so a bookmark or a reload shows the same rows.
#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let caller = use_caller();
    let asked = Memo::new(move |_| {
        let address = query.read().to_query_string();
        AuditQuery::parse(address.trim_start_matches('?')).map_err(|e| ErrorBody {
            code: "validation_failed".into(),
            message: e.message,
            field: Some(e.field),
        })
    });
    let entries = Resource::new(
        move || asked.get(),
        move |asked| async move {
            match asked {
                Ok(q) => for_admins(caller, read_audit_trail(q)).await,
                Err(e) => Err(e),
            }
        },
    );
    view! {
        <AdminOnly>
            <h1>"Audit trail"</h1>
            <AuditFilters/>
            <Transition fallback=|| view! { <p class="muted">"Loading the audit trail…"</p> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Ok(page) => view! { <AuditEntries page/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </AdminOnly>
    }
}

/// The address of the trail with `param` set to `value` (or removed) and the
/// other parameters kept.
fn address_with(mut params: ParamsMap, param: &'static str, value: Option<String>) -> String {
    params.remove(param);
    if let Some(value) = value {
        params.replace(param, value);
    }
    format!("{PATH}{}", params.to_query_string())
}

/// Actor, action and time range; each applies as soon as it changes.
#[component]
fn AuditFilters() -> impl IntoView {
    let query = use_query_map();
    let any = move || {
        let q = query.read();
        ["actor", "action", "from", "to"]
            .iter()
            .any(|p| q.get(p).is_some())
    };
    view! {
        <section class="filters" aria-label="Filters">
            <TextFilter label="Actor" param="actor" placeholder="ada@example.com"/>
            <TextFilter label="Action" param="action" placeholder="api_key.create" suggestions="audit-actions"/>
            <datalist id="audit-actions">
                {KNOWN_ACTIONS.into_iter().map(|a| view! { <option value=a></option> }).collect_view()}
            </datalist>
            <DateRange label="Time" from_param="from" to_param="to"/>
            <Show when=any>
                <a class="clear" href=PATH>"Clear filters"</a>
            </Show>
        </section>
    }
}

/// One exact-match text filter, applied on Enter or when the field is left; a
/// changed filter starts again at the first page.
#[component]
fn TextFilter(
    label: &'static str,
    param: &'static str,
    placeholder: &'static str,
    /// The id of a `<datalist>` of likely values.
    #[prop(optional)]
    suggestions: Option<&'static str>,
) -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let on_change = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev).trim().to_string();
        let mut params = query.get_untracked();
        params.remove("cursor");
        let to = address_with(params, param, (!value.is_empty()).then_some(value));
        navigate(&to, Default::default());
    };
    view! {
        <label class="filter">
            <span>{label}</span>
            <input
                type="search"
                name=param
                list=suggestions
                placeholder=placeholder
                data-testid=format!("{param}-filter")
                prop:value=move || query.read().get(param).unwrap_or_default()
                on:change=on_change
            />
        </label>
    }
}

/// A page of entries and the links to the pages around it.
#[component]
fn AuditEntries(page: Page<AuditEntry>) -> impl IntoView {
    let query = use_query_map();
    let params = query.get_untracked();
    let on_later_page = params.get("cursor").is_some();
    let first = address_with(params.clone(), "cursor", None);
    let next = page
        .next_cursor
        .map(|cursor| address_with(params, "cursor", Some(cursor)));
    let table = if page.items.is_empty() {
        view! {
            <p class="empty" data-testid="audit-empty">
                "No audit entries match these filters. "
                <a href=PATH>"Clear the filters"</a>
                " to see the whole trail."
            </p>
        }
        .into_any()
    } else {
        view! { <AuditTable entries=page.items/> }.into_any()
    };
    view! {
        {table}
        <nav class="pager" aria-label="Audit trail pages">
            {on_later_page.then(|| view! { <a href=first>"First page"</a> })}
            {next.map(|href| view! { <a href=href rel="next">"Next page"</a> })}
        </nav>
    }
}

#[component]
fn AuditTable(entries: Vec<AuditEntry>) -> impl IntoView {
    view! {
        <table class="log audit" data-testid="audit-table">
            <thead>
                <tr>
                    <th scope="col">"Time"</th>
                    <th scope="col">"Actor"</th>
                    <th scope="col">"Action"</th>
                    <th scope="col">"Target"</th>
                    <th scope="col">"Client"</th>
                    <th scope="col">"Details"</th>
                </tr>
            </thead>
            <tbody>
                {entries
                    .into_iter()
                    .map(|e| {
                        let details = details_text(&e.reason, &e.details);
                        view! {
                            <tr data-audit-id=e.id.to_string()>
                                <td><LocalTime at=e.at/></td>
                                <td class="actor">{e.actor}</td>
                                <td class="action"><code>{e.action}</code></td>
                                <td class="target mono">{e.target}</td>
                                <td class="client">{e.client.unwrap_or_else(|| "—".into())}</td>
                                <td class="details">{details}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// An entry's reason and details in one line: `reason: "…" · name: billing · role: admin`.
/// Empty values are left out; strings read without their JSON quotes.
fn details_text(reason: &str, details: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    if !reason.is_empty() {
        parts.push(format!("reason: {reason:?}"));
    }
    match details {
        serde_json::Value::Object(fields) => {
            for (name, value) in fields {
                let text = match value {
                    serde_json::Value::Null => continue,
                    serde_json::Value::String(s) if s.is_empty() => continue,
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                parts.push(format!("{name}: {text}"));
            }
        }
        serde_json::Value::Null => {}
        other => parts.push(other.to_string()),
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_read_as_words_without_empty_values() {
        // In key order, which both of serde_json's map orders keep.
        let details = serde_json::json!({
            "changed": ["role", "disabled"],
            "name": "billing",
            "plugins": null,
            "role": "admin",
        });
        assert_eq!(
            details_text("", &details),
            "changed: [\"role\",\"disabled\"] · name: billing · role: admin"
        );
        assert_eq!(
            details_text("customer asked", &serde_json::json!({})),
            "reason: \"customer asked\""
        );
        assert_eq!(details_text("", &serde_json::Value::Null), "");
    }
}
