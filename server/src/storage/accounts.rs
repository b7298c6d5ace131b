//! People and their sessions: the `users` and `sessions` tables (migration 0010),
//! written the same way on both databases.

use chrono::{DateTime, Utc};
use sqlx::{Database, Executor, FromRow, Pool};
use uuid::Uuid;

use super::db::{execute, fetch_all, fetch_optional, HasRowsAffected, SqlDatabase, Writer, Writes};
use super::sql::{self, from_micros, micros, Micros, Sql};
use super::{detached, AuditEntry, StoreError};

/// A person who signs in to the pages. Only the argon2id hash of the password is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: Uuid,
    /// As typed at creation.
    pub email: String,
    pub password_hash: String,
    pub role: String,
    /// The plugins (ids) the user may see; `None` is all of them.
    pub plugins: Option<Vec<Uuid>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub password_changed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When they last signed in; `None`: never. Written only by `record_sign_in`.
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// One stored session (tower-sessions' record, serialised), with the user it
/// belongs to so that all of a user's sessions can be revoked at once.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub id: String,
    pub user_id: Option<Uuid>,
    pub data: String,
    pub expires_at: DateTime<Utc>,
}

/// The lowercased email: the key one account per address is enforced on.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

#[async_trait::async_trait]
pub trait Accounts: Send + Sync {
    /// The user and its audit row, together. `Duplicate("user email")` when the
    /// address is taken.
    async fn insert_user(&self, user: &UserRecord, audit: &AuditEntry) -> Result<(), StoreError>;
    /// Replace a user's row and write its audit row; with `revoke_sessions`, every
    /// session of that user ends in the same transaction.
    async fn update_user(
        &self,
        user: &UserRecord,
        revoke_sessions: bool,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    async fn get_user(&self, id: Uuid) -> Result<Option<UserRecord>, StoreError>;
    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Oldest first.
    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// A successful sign-in: the user's last sign-in time and its audit row, together.
    async fn record_sign_in(
        &self,
        user_id: Uuid,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;

    /// Insert or replace a session.
    async fn save_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    /// A session that has not expired at `now`.
    async fn load_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError>;
    async fn delete_session(&self, id: &str) -> Result<(), StoreError>;
    /// How many sessions a user has that have not expired at `now`.
    async fn count_user_sessions(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// Drop sessions that expired before `now`; how many.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    email: String,
    password_hash: String,
    role: String,
    plugins: Option<String>,
    disabled_at: Option<Micros>,
    password_changed_at: Micros,
    created_at: Micros,
    updated_at: Micros,
    last_sign_in_at: Option<Micros>,
}

/// What a user is written with; `last_sign_in_at` is read too but only ever
/// written by a sign-in.
const USER_COLUMNS: &str = "id, email, password_hash, role, plugins, disabled_at, \
                            password_changed_at, created_at, updated_at";

impl TryFrom<UserRow> for UserRecord {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        let plugins = match r.plugins {
            Some(text) => Some(sql::json::<Vec<Uuid>>("plugins of a user", &text)?),
            None => None,
        };
        Ok(UserRecord {
            id: r.id,
            email: r.email,
            password_hash: r.password_hash,
            role: r.role,
            plugins,
            disabled_at: r.disabled_at.map(from_micros),
            password_changed_at: from_micros(r.password_changed_at),
            created_at: from_micros(r.created_at),
            updated_at: from_micros(r.updated_at),
            last_sign_in_at: r.last_sign_in_at.map(from_micros),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id: String,
    user_id: Option<Uuid>,
    data: String,
    expires_at: Micros,
}

impl From<SessionRow> for SessionRecord {
    fn from(r: SessionRow) -> Self {
        SessionRecord {
            id: r.id,
            user_id: r.user_id,
            data: r.data,
            expires_at: from_micros(r.expires_at),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CountOnly {
    n: i64,
}

fn plugins_json(plugins: &Option<Vec<Uuid>>) -> Option<String> {
    plugins.as_ref().map(sql::to_json)
}

fn insert_user_sql(d: sql::Dialect, u: &UserRecord) -> Sql {
    let mut s = Sql::new(
        d,
        format!("INSERT INTO users ({USER_COLUMNS}, email_key) VALUES "),
    );
    s.bind_row(vec![
        u.id.into(),
        u.email.clone().into(),
        u.password_hash.clone().into(),
        u.role.clone().into(),
        plugins_json(&u.plugins).into(),
        u.disabled_at.map(micros).into(),
        micros(u.password_changed_at).into(),
        micros(u.created_at).into(),
        micros(u.updated_at).into(),
        email_key(&u.email).into(),
    ]);
    s
}

fn update_user_sql(d: sql::Dialect, u: &UserRecord) -> Sql {
    let mut s = Sql::new(d, "UPDATE users SET ");
    sql::push_sets(
        &mut s,
        vec![
            ("password_hash", u.password_hash.clone().into()),
            ("role", u.role.clone().into()),
            ("plugins", plugins_json(&u.plugins).into()),
            ("disabled_at", u.disabled_at.map(micros).into()),
            ("password_changed_at", micros(u.password_changed_at).into()),
            ("updated_at", micros(u.updated_at).into()),
        ],
    );
    s.push(" WHERE id = ").bind(u.id);
    s
}

/// Both databases' accounts: reads on `read`, writes on `write` (SQLite's one
/// write connection; the same pool on PostgreSQL).
pub(crate) struct AccountsDb<DB: Database> {
    pub read: Pool<DB>,
    pub write: Pool<DB>,
}

impl<DB> AccountsDb<DB>
where
    DB: SqlDatabase,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
{
    /// Statements and the audit row that records them, in one transaction.
    async fn audited(
        &self,
        mut steps: Vec<(Sql, &'static str)>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        steps.push((
            sql::insert_audit(DB::DIALECT, audit),
            "writing the audit trail",
        ));
        let writer = Writer {
            pool: self.write.clone(),
        };
        writer.run_together(steps).await.map(drop)
    }
}

#[async_trait::async_trait]
impl<DB> Accounts for AccountsDb<DB>
where
    DB: SqlDatabase,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::QueryResult: HasRowsAffected,
    UserRow: for<'r> FromRow<'r, DB::Row>,
    SessionRow: for<'r> FromRow<'r, DB::Row>,
    CountOnly: for<'r> FromRow<'r, DB::Row>,
{
    async fn insert_user(&self, user: &UserRecord, audit: &AuditEntry) -> Result<(), StoreError> {
        let insert = insert_user_sql(DB::DIALECT, user);
        self.audited(vec![(insert, "inserting a user")], audit)
            .await
            .map_err(|e| match e {
                StoreError::Duplicate(_) => StoreError::Duplicate("user with this email"),
                other => other,
            })
    }

    async fn update_user(
        &self,
        user: &UserRecord,
        revoke_sessions: bool,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut steps = vec![(update_user_sql(DB::DIALECT, user), "updating a user")];
        if revoke_sessions {
            let mut s = Sql::new(DB::DIALECT, "DELETE FROM sessions WHERE user_id = ");
            s.bind(user.id);
            steps.push((s, "revoking sessions"));
        }
        self.audited(steps, audit).await
    }

    async fn get_user(&self, id: Uuid) -> Result<Option<UserRecord>, StoreError> {
        let mut s = Sql::new(
            DB::DIALECT,
            format!("SELECT {USER_COLUMNS}, last_sign_in_at FROM users WHERE id = "),
        );
        s.bind(id);
        let row: Option<UserRow> = fetch_optional(&self.read, s, "reading a user").await?;
        row.map(UserRecord::try_from).transpose()
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let mut s = Sql::new(
            DB::DIALECT,
            format!("SELECT {USER_COLUMNS}, last_sign_in_at FROM users WHERE email_key = "),
        );
        s.bind(email_key(email));
        let row: Option<UserRow> = fetch_optional(&self.read, s, "finding a user").await?;
        row.map(UserRecord::try_from).transpose()
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let s = Sql::new(
            DB::DIALECT,
            format!("SELECT {USER_COLUMNS}, last_sign_in_at FROM users ORDER BY created_at, id"),
        );
        let rows: Vec<UserRow> = fetch_all(&self.read, s, "listing users").await?;
        rows.into_iter().map(UserRecord::try_from).collect()
    }

    async fn record_sign_in(
        &self,
        user_id: Uuid,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut s = Sql::new(DB::DIALECT, "UPDATE users SET last_sign_in_at = ");
        s.bind(micros(at)).push(" WHERE id = ").bind(user_id);
        self.audited(vec![(s, "noting a sign-in")], audit).await
    }

    async fn save_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let mut s = Sql::new(
            DB::DIALECT,
            "INSERT INTO sessions (id, user_id, data, expires_at) VALUES ",
        );
        s.push("(").bind(session.id.clone()).push(", ");
        // A NULL is written literally: a typed NULL would be bytea to PostgreSQL.
        match session.user_id {
            Some(id) => s.bind(id),
            None => s.push("NULL"),
        };
        s.push(", ")
            .bind(session.data.clone())
            .push(", ")
            .bind(micros(session.expires_at))
            .push(")");
        s.push(
            " ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, \
             data = excluded.data, expires_at = excluded.expires_at",
        );
        let pool = self.write.clone();
        detached(async move { execute(&pool, s, "saving a session").await }).await?;
        Ok(())
    }

    async fn load_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let mut s = Sql::new(
            DB::DIALECT,
            "SELECT id, user_id, data, expires_at FROM sessions WHERE id = ",
        );
        s.bind(id).push(" AND expires_at > ").bind(micros(now));
        let row: Option<SessionRow> = fetch_optional(&self.read, s, "loading a session").await?;
        Ok(row.map(SessionRecord::from))
    }

    async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        let mut s = Sql::new(DB::DIALECT, "DELETE FROM sessions WHERE id = ");
        s.bind(id);
        let pool = self.write.clone();
        detached(async move { execute(&pool, s, "deleting a session").await }).await?;
        Ok(())
    }

    async fn count_user_sessions(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut s = Sql::new(
            DB::DIALECT,
            "SELECT COUNT(*) AS n FROM sessions WHERE user_id = ",
        );
        s.bind(user_id).push(" AND expires_at > ").bind(micros(now));
        let row: Option<CountOnly> = fetch_optional(&self.read, s, "counting sessions").await?;
        Ok(row.map_or(0, |r| r.n.max(0) as u64))
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut s = Sql::new(DB::DIALECT, "DELETE FROM sessions WHERE expires_at <= ");
        s.bind(micros(now));
        let pool = self.write.clone();
        detached(async move { execute(&pool, s, "dropping expired sessions").await }).await
    }
}
