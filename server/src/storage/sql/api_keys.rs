//! API keys.

use super::*;

#[derive(sqlx::FromRow)]
pub(crate) struct ApiKeyRow {
    id: Uuid,
    name: String,
    role: String,
    key_hash: String,
    prefix: String,
    created_at: i64,
}

impl From<ApiKeyRow> for ApiKeyRecord {
    fn from(r: ApiKeyRow) -> Self {
        ApiKeyRecord {
            id: r.id,
            name: r.name,
            role: r.role,
            key_hash: r.key_hash,
            prefix: r.prefix,
            created_at: from_micros(r.created_at),
        }
    }
}

pub(crate) fn insert_api_key(d: Dialect, k: &ApiKeyRecord) -> Sql {
    let mut sql = Sql::new(
        d,
        "INSERT INTO api_keys (id, name, role, key_hash, prefix, created_at) VALUES ",
    );
    sql.bind_row(vec![
        k.id.into(),
        k.name.clone().into(),
        k.role.clone().into(),
        k.key_hash.clone().into(),
        k.prefix.clone().into(),
        micros(k.created_at).into(),
    ]);
    sql
}
