//! SQL shared by both databases, one file per concept below: row structs, their mapping to domain types,
//! and query builders. Both schemas store times as microseconds (`Micros`: an
//! integer on SQLite, a `timestamptz` on PostgreSQL) and ids as UUIDs, so one
//! builder (with the database's own placeholders) serves both.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use app::domain::{
    Attempt, AttemptRequest, AttemptResponse, BodyEncoding, Decision, DecisionAction, EntityRef,
    FailureClass, Initiator, InitiatorKind, LastError, LogEntry, LogStep, Plugin, StartedBy,
    StartedByKind, Status, Trigger,
};

use super::{
    ApiKeyRecord, AttemptOutcome, Cursor, NewTrigger, PluginRecord, StoreError, StoreFilter,
};

pub(crate) use micros::Micros;

pub(crate) fn micros(t: DateTime<Utc>) -> Micros {
    Micros::from(t)
}

pub(crate) fn from_micros(us: Micros) -> DateTime<Utc> {
    us.time()
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value:?}"))
}

/// Which database a statement is written for: placeholders and LIKE differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// A bound value. Both schemas use the same handful of column types.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Uuid(Uuid),
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Bool(bool),
    Time(Option<Micros>),
}

impl From<Uuid> for Arg {
    fn from(v: Uuid) -> Self {
        Arg::Uuid(v)
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<Micros> for Arg {
    fn from(v: Micros) -> Self {
        Arg::Time(Some(v))
    }
}
impl From<Option<Micros>> for Arg {
    fn from(v: Option<Micros>) -> Self {
        Arg::Time(v)
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<Vec<u8>>> for Arg {
    fn from(v: Option<Vec<u8>>) -> Self {
        Arg::Bytes(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

/// A statement being written: text with the dialect's placeholders, and its arguments.
pub(crate) struct Sql {
    pub dialect: Dialect,
    pub text: String,
    pub args: Vec<Arg>,
    /// Whether the connection keeps the prepared statement for the next time the
    /// same text comes (sqlx's statement cache, 100 per connection). See [`Sql::once`].
    pub kept: bool,
}

impl Sql {
    pub fn new(dialect: Dialect, text: impl Into<String>) -> Sql {
        Sql {
            dialect,
            text: text.into(),
            args: Vec::new(),
            kept: true,
        }
    }

    /// Not kept after it runs: for statements whose text is unlikely to come
    /// again, such as retention's lists of up to 2,000 ids whose length changes
    /// with every batch. Kept, each length filled the caches of every pooled
    /// connection with texts of up to 4,000 placeholders (the server's resident
    /// memory reached 153 MB while pruning on PostgreSQL).
    pub fn once(mut self) -> Sql {
        self.kept = false;
        self
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    pub fn bind(&mut self, arg: impl Into<Arg>) -> &mut Self {
        self.args.push(arg.into());
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.args.len().to_string());
            }
        }
        self
    }

    /// Another statement after this one, sent with it in one round trip. SQLite
    /// only: its `?` placeholders number themselves across the statements.
    pub fn then(&mut self, next: Sql) -> &mut Self {
        debug_assert_eq!(self.dialect, Dialect::Sqlite, "PostgreSQL numbers its $n");
        self.text.push_str(";\n");
        self.text.push_str(&next.text);
        self.args.extend(next.args);
        self.kept &= next.kept;
        self
    }

    /// `(?, ?, …)` for a row of values.
    pub fn bind_row(&mut self, row: Vec<Arg>) -> &mut Self {
        self.push("(");
        for (i, arg) in row.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(arg);
        }
        self.push(")")
    }
}

mod activity;
mod api_keys;
mod attempts;
mod audit;
mod counts;
mod executor;
mod micros;
mod migrations;
pub(super) fn json<T: serde::de::DeserializeOwned>(
    what: &str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|_| corrupt(what, text))
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain types serialise")
}

pub(super) fn push_sets(sql: &mut Sql, sets: Vec<(&str, Arg)>) {
    for (i, (column, value)) in sets.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push(column).push(" = ").bind(value);
    }
}

mod plugins;
mod reads;
mod retention;
mod sealed;
mod search;
mod triggers;

pub(crate) use activity::*;
pub(crate) use api_keys::*;
pub(crate) use attempts::*;
pub(crate) use audit::*;
pub(crate) use counts::*;
pub(crate) use executor::*;
pub(crate) use migrations::*;
pub(crate) use plugins::*;
pub(crate) use reads::*;
pub(crate) use retention::*;
pub(crate) use sealed::*;
pub(crate) use search::*;
pub(crate) use triggers::*;
