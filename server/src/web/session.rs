//! Server-side sessions: tower-sessions with its records in our own database
//! (the `sessions` table, through `Store::accounts`), so they survive restarts,
//! are shared by every instance, and all of one user's can be revoked at once.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use uuid::Uuid;

use crate::storage::{SessionRecord, SharedStore};

/// The cookie's name.
pub const COOKIE: &str = "calltrail_session";
/// Session keys: the signed-in user and when they signed in.
const USER: &str = "user";
const SINCE: &str = "since";

/// How long sessions last.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// A session unused this long ends (`CALLTRAIL_SESSION_IDLE_SECS`).
    pub idle: Duration,
    /// A session ends this long after sign-in however much it is used
    /// (`CALLTRAIL_SESSION_MAX_SECS`).
    pub absolute: Duration,
    /// `Secure` cookies: when the public URL is https.
    pub secure: bool,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            idle: Duration::from_secs(12 * 3600),
            absolute: Duration::from_secs(7 * 24 * 3600),
            secure: false,
        }
    }
}

/// The tower-sessions store over our database.
#[derive(Clone)]
pub struct DbSessionStore {
    store: SharedStore,
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbSessionStore")
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn to_chrono(t: OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_default()
}

#[async_trait::async_trait]
impl SessionStore for DbSessionStore {
    /// A new session under an id no live session has (ids are 128 random bits, so
    /// a second draw is all but impossible; this makes it certain).
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let now = crate::clock::now();
        while self
            .store
            .accounts()
            .load_session(&record.id.to_string(), now)
            .await
            .map_err(backend)?
            .is_some()
        {
            record.id = Id::default();
        }
        self.save(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let user_id = record
            .data
            .get(USER)
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok());
        let row = SessionRecord {
            id: record.id.to_string(),
            user_id,
            data: serde_json::to_string(&record.data).map_err(backend)?,
            expires_at: to_chrono(record.expiry_date),
        };
        self.store
            .accounts()
            .save_session(&row)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(row) = self
            .store
            .accounts()
            .load_session(&id.to_string(), crate::clock::now())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let expiry_date =
            OffsetDateTime::from_unix_timestamp(row.expires_at.timestamp()).map_err(backend)?;
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&row.data).map_err(backend)?,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store
            .accounts()
            .delete_session(&id.to_string())
            .await
            .map_err(backend)
    }
}

/// The layer that loads and saves sessions around every page and server function.
pub fn layer(
    store: SharedStore,
    settings: &SessionSettings,
) -> SessionManagerLayer<DbSessionStore> {
    let idle = tower_sessions::cookie::time::Duration::seconds(
        settings.idle.as_secs().max(1).min(i64::MAX as u64) as i64,
    );
    spawn_sweeper(store.clone());
    SessionManagerLayer::new(DbSessionStore { store })
        .with_name(COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
        // Every request pushes the idle expiry forward, in the row and the cookie.
        .with_always_save(true)
}

/// Expired rows are unreadable already; this only keeps the table small.
fn spawn_sweeper(store: SharedStore) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let store = Arc::downgrade(&store);
    runtime.spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            let Some(store) = store.upgrade() else { return };
            if let Err(e) = store
                .accounts()
                .delete_expired_sessions(crate::clock::now())
                .await
            {
                tracing::warn!(error = %e, "dropping expired sessions");
            }
        }
    });
}

/// Who a session says is signed in, and since when.
pub async fn signed_in(session: &Session) -> Option<(Uuid, DateTime<Utc>)> {
    let user: Uuid = session.get(USER).await.ok().flatten()?;
    let since: i64 = session.get(SINCE).await.ok().flatten()?;
    Some((user, DateTime::from_timestamp_micros(since)?))
}

/// Start a signed-in session under a new id (no fixation of an id set before sign-in).
pub async fn begin(session: &Session, user: Uuid) -> Result<(), tower_sessions::session::Error> {
    session.clear().await;
    session.cycle_id().await?;
    session.insert(USER, user).await?;
    session
        .insert(SINCE, crate::clock::now().timestamp_micros())
        .await?;
    Ok(())
}

/// End a session: its row is deleted and the cookie removed.
pub async fn end(session: &Session) {
    if let Err(e) = session.flush().await {
        tracing::warn!(error = %e, "ending a session");
    }
}
