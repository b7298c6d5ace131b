//! API keys: the hash is all that is stored of a key.

use super::*;

const API_KEY_COLUMNS: &str = "id, name, role, key_hash, prefix, created_at, plugins, expires_at, \
                               last_used_at, revoked_at, created_by";

#[derive(sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    id: Uuid,
    name: String,
    role: String,
    key_hash: String,
    prefix: String,
    created_at: Micros,
    plugins: Option<String>,
    expires_at: Option<Micros>,
    last_used_at: Option<Micros>,
    revoked_at: Option<Micros>,
    created_by: Option<String>,
}

impl TryFrom<ApiKeyRow> for ApiKeyRecord {
    type Error = StoreError;

    fn try_from(r: ApiKeyRow) -> Result<Self, StoreError> {
        Ok(ApiKeyRecord {
            id: r.id,
            name: r.name,
            role: r.role,
            key_hash: r.key_hash,
            prefix: r.prefix,
            created_at: from_micros(r.created_at),
            plugins: r
                .plugins
                .map(|text| json("api key plugins", &text))
                .transpose()?,
            expires_at: r.expires_at.map(from_micros),
            last_used_at: r.last_used_at.map(from_micros),
            revoked_at: r.revoked_at.map(from_micros),
            created_by: r.created_by,
        })
    }
}

pub(crate) fn insert_api_key(d: Dialect, k: &ApiKeyRecord) -> Sql {
    let mut sql = Sql::new(
        d,
        format!("INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES "),
    );
    sql.bind_row(vec![
        k.id.into(),
        k.name.clone().into(),
        k.role.clone().into(),
        k.key_hash.clone().into(),
        k.prefix.clone().into(),
        micros(k.created_at).into(),
        k.plugins.as_ref().map(to_json).into(),
        k.expires_at.map(micros).into(),
        k.last_used_at.map(micros).into(),
        k.revoked_at.map(micros).into(),
        k.created_by.clone().into(),
    ]);
    sql
}

/// The key with this hash, revoked or expired too (so a refusal can say why).
pub(crate) fn select_api_key(d: Dialect, key_hash: &str) -> Sql {
    let mut sql = Sql::new(
        d,
        format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = "),
    );
    sql.bind(key_hash);
    sql
}

pub(crate) fn select_api_key_by_id(d: Dialect, id: Uuid) -> Sql {
    let mut sql = Sql::new(
        d,
        format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = "),
    );
    sql.bind(id);
    sql
}

/// Every key, newest first (there are few).
pub(crate) fn select_api_keys(d: Dialect) -> Sql {
    Sql::new(
        d,
        format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at DESC, id DESC"),
    )
}

pub(crate) fn revoke_api_key(d: Dialect, id: Uuid, at: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new(d, "UPDATE api_keys SET revoked_at = ");
    sql.bind(micros(at))
        .push(" WHERE revoked_at IS NULL AND id = ")
        .bind(id);
    sql
}

/// Never moves the time backwards (two instances may write out of order).
pub(crate) fn touch_api_key(d: Dialect, id: Uuid, at: DateTime<Utc>) -> Sql {
    let mut sql = Sql::new(d, "UPDATE api_keys SET last_used_at = ");
    sql.bind(micros(at))
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND (last_used_at IS NULL OR last_used_at < ")
        .bind(micros(at))
        .push(")");
    sql
}

/// The latest revocation, to notice one made by another process (SQLite).
pub(crate) fn select_last_revocation(d: Dialect) -> Sql {
    Sql::new(d, "SELECT MAX(revoked_at) AS at FROM api_keys")
}
