//! Plugins: rows and statements.

use super::*;

#[derive(sqlx::FromRow)]
pub(crate) struct PluginRow {
    id: Uuid,
    name: String,
    display_name: String,
    kind: String,
    base_url: String,
    active: bool,
    timeout_ms: i64,
    routes: String,
    default_route: Option<String>,
    headers: String,
    retry_policy: String,
    external_id_pointer: Option<String>,
    redact: String,
    retention: String,
    auth_sealed: Option<Vec<u8>>,
    signing_secret_sealed: Option<Vec<u8>>,
    headers_sealed: Option<Vec<u8>>,
    created_at: Micros,
    updated_at: Micros,
}

pub(crate) const PLUGIN_COLUMNS: &str = "id, name, display_name, kind, base_url, active, \
    timeout_ms, routes, default_route, headers, retry_policy, external_id_pointer, redact, \
    retention, auth_sealed, signing_secret_sealed, headers_sealed, created_at, updated_at";

impl TryFrom<PluginRow> for PluginRecord {
    type Error = StoreError;

    fn try_from(r: PluginRow) -> Result<Self, StoreError> {
        Ok(PluginRecord {
            plugin: Plugin {
                id: r.id,
                name: r.name,
                display_name: r.display_name,
                kind: r.kind,
                base_url: r.base_url,
                active: r.active,
                timeout_ms: r.timeout_ms as u64,
                routes: json("plugin routes", &r.routes)?,
                default_route: r
                    .default_route
                    .as_deref()
                    .map(|d| json("plugin default route", d))
                    .transpose()?,
                headers: json("plugin headers", &r.headers)?,
                retry_policy: json("plugin retry policy", &r.retry_policy)?,
                external_id_pointer: r.external_id_pointer,
                redact: json("plugin redaction", &r.redact)?,
                retention: json("plugin retention", &r.retention)?,
                has_auth: r.auth_sealed.is_some(),
                has_signing_secret: r.signing_secret_sealed.is_some(),
                created_at: from_micros(r.created_at),
                updated_at: from_micros(r.updated_at),
            },
            auth_sealed: r.auth_sealed,
            signing_secret_sealed: r.signing_secret_sealed,
            headers_sealed: r.headers_sealed,
        })
    }
}

pub(crate) fn insert_plugin(d: Dialect, p: &PluginRecord) -> Sql {
    let pl = &p.plugin;
    let mut sql = Sql::new(d, format!("INSERT INTO plugins ({PLUGIN_COLUMNS}) VALUES "));
    sql.bind_row(vec![
        pl.id.into(),
        pl.name.clone().into(),
        pl.display_name.clone().into(),
        pl.kind.clone().into(),
        pl.base_url.clone().into(),
        pl.active.into(),
        (pl.timeout_ms as i64).into(),
        to_json(&pl.routes).into(),
        pl.default_route.as_ref().map(to_json).into(),
        to_json(&pl.headers).into(),
        to_json(&pl.retry_policy).into(),
        pl.external_id_pointer.clone().into(),
        to_json(&pl.redact).into(),
        to_json(&pl.retention).into(),
        p.auth_sealed.clone().into(),
        p.signing_secret_sealed.clone().into(),
        p.headers_sealed.clone().into(),
        micros(pl.created_at).into(),
        micros(pl.updated_at).into(),
    ]);
    sql
}

pub(crate) fn update_plugin(d: Dialect, p: &PluginRecord) -> Sql {
    let pl = &p.plugin;
    let mut sql = Sql::new(d, "UPDATE plugins SET ");
    let sets: Vec<(&str, Arg)> = vec![
        ("name", pl.name.clone().into()),
        ("display_name", pl.display_name.clone().into()),
        ("base_url", pl.base_url.clone().into()),
        ("active", pl.active.into()),
        ("timeout_ms", (pl.timeout_ms as i64).into()),
        ("routes", to_json(&pl.routes).into()),
        (
            "default_route",
            pl.default_route.as_ref().map(to_json).into(),
        ),
        ("headers", to_json(&pl.headers).into()),
        ("retry_policy", to_json(&pl.retry_policy).into()),
        ("external_id_pointer", pl.external_id_pointer.clone().into()),
        ("redact", to_json(&pl.redact).into()),
        ("retention", to_json(&pl.retention).into()),
        ("auth_sealed", p.auth_sealed.clone().into()),
        (
            "signing_secret_sealed",
            p.signing_secret_sealed.clone().into(),
        ),
        ("headers_sealed", p.headers_sealed.clone().into()),
        ("updated_at", micros(pl.updated_at).into()),
    ];
    push_sets(&mut sql, sets);
    sql.push(" WHERE id = ").bind(pl.id);
    sql
}
