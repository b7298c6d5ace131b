//! The log's address: a query string such as `plugin=a&plugin=b&status=erroneous&limit=20`,
//! read in one place for the REST list, the export and the browser's address bar.
//!
//! `serde_html_form` splits and decodes the string and gathers repeated keys; each
//! value is then read here so that a bad one is refused with the name of its field.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{Status, TriggerFilter, DEFAULT_PAGE_SIZE};

/// A query parameter that cannot be read: which one, and why, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub field: String,
    pub message: String,
}

impl QueryError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> QueryError {
        QueryError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The trigger list's query: its filter, where the page starts and how long it is.
/// Limits on the values (page size, how many, how long) are the service's to check.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: TriggerFilter,
    pub cursor: Option<String>,
    pub limit: u32,
}

/// The list's parameters as written. Every one may repeat; a filter that takes one
/// value keeps the last, as it always has.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListQuery {
    #[serde(default)]
    plugin: Vec<String>,
    #[serde(default)]
    status: Vec<String>,
    #[serde(default)]
    event_type: Vec<String>,
    #[serde(default)]
    entity_type: Vec<String>,
    #[serde(default)]
    entity_id: Vec<String>,
    #[serde(default)]
    aggregation_key: Vec<String>,
    #[serde(default)]
    scheduled_from: Vec<String>,
    #[serde(default)]
    scheduled_to: Vec<String>,
    #[serde(default)]
    triggered_from: Vec<String>,
    #[serde(default)]
    triggered_to: Vec<String>,
    #[serde(default)]
    q: Vec<String>,
    #[serde(default)]
    include_inactive: Vec<String>,
    #[serde(default)]
    cursor: Vec<String>,
    #[serde(default)]
    limit: Vec<String>,
}

impl ListQuery {
    /// Read a query string (without its `?`). Every parameter is checked; an unknown
    /// one is refused, named.
    pub fn parse(query: &str) -> Result<ListQuery, QueryError> {
        let raw: RawListQuery = from_query(query, "a filter of this list")?;
        let status = raw
            .status
            .into_iter()
            .map(|value| {
                Status::parse(&value).ok_or_else(|| {
                    QueryError::new(
                        "status",
                        format!(
                            "{value:?} is not a status; use not_yet_started, running, retrying, finished or erroneous"
                        ),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let include_inactive = match last(raw.include_inactive).as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(QueryError::new(
                    "include_inactive",
                    "include_inactive is true or false",
                ))
            }
        };
        let limit = match last(raw.limit) {
            Some(v) => v
                .parse()
                .map_err(|_| QueryError::new("limit", "limit is a number from 1 to 500"))?,
            None => DEFAULT_PAGE_SIZE,
        };
        Ok(ListQuery {
            filter: TriggerFilter {
                plugin: raw.plugin,
                status,
                event_type: last(raw.event_type),
                entity_type: last(raw.entity_type),
                entity_id: last(raw.entity_id),
                aggregation_key: last(raw.aggregation_key),
                scheduled_from: time("scheduled_from", raw.scheduled_from)?,
                scheduled_to: time("scheduled_to", raw.scheduled_to)?,
                triggered_from: time("triggered_from", raw.triggered_from)?,
                triggered_to: time("triggered_to", raw.triggered_to)?,
                q: last(raw.q),
                include_inactive,
            },
            cursor: last(raw.cursor),
            limit,
        })
    }

    /// Read the address bar: a parameter the list would refuse is left out (the
    /// page shows what the rest of the address asks for) instead of failing the page.
    pub fn parse_lenient(query: &str) -> ListQuery {
        let mut pairs: Vec<(String, String)> = serde_html_form::from_str(query).unwrap_or_default();
        // Each round drops one refused name, so it ends within one round per name.
        for _ in 0..=pairs.len() {
            let query = serde_html_form::to_string(&pairs).unwrap_or_default();
            match ListQuery::parse(&query) {
                Ok(parsed) => return parsed,
                Err(e) => pairs.retain(|(name, _)| *name != e.field),
            }
        }
        ListQuery::parse("").expect("an empty query is the whole list")
    }
}

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Ndjson,
}

/// An export's query: its format and the list's filters (no page: it is the whole set).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportQuery {
    pub format: ExportFormat,
    pub filter: TriggerFilter,
}

impl ExportQuery {
    pub fn parse(query: &str) -> Result<ExportQuery, QueryError> {
        let pairs: Vec<(String, String)> = serde_html_form::from_str(query)
            .map_err(|e| QueryError::new("query", e.to_string()))?;
        let (formats, rest): (Vec<_>, Vec<_>) =
            pairs.into_iter().partition(|(name, _)| name == "format");
        let format = match formats.last().map(|(_, v)| v.as_str()) {
            None | Some("csv") => ExportFormat::Csv,
            Some("ndjson") => ExportFormat::Ndjson,
            Some(other) => {
                return Err(QueryError::new(
                    "format",
                    format!("{other:?} is not an export format; use csv or ndjson"),
                ))
            }
        };
        for (name, _) in &rest {
            if name == "cursor" || name == "limit" {
                return Err(QueryError::new(
                    name.clone(),
                    "an export is the whole filtered set; it takes no cursor or limit",
                ));
            }
        }
        let rest = serde_html_form::to_string(&rest).unwrap_or_default();
        Ok(ExportQuery {
            format,
            filter: ListQuery::parse(&rest)?.filter,
        })
    }
}

/// The audit trail's query: who, what, when, where the page starts and how long
/// it is. Limits on the values are the service's to check.
/// Also what the audit page sends its server function, parsed from its address bar.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, Deserialize)]
pub struct AuditQuery {
    /// Exactly this actor (`on-call`, `cli`).
    pub actor: Option<String>,
    /// Exactly this action (`rerun`, `api_key.revoke`).
    pub action: Option<String>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuditQuery {
    #[serde(default)]
    actor: Vec<String>,
    #[serde(default)]
    action: Vec<String>,
    #[serde(default)]
    from: Vec<String>,
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    cursor: Vec<String>,
    #[serde(default)]
    limit: Vec<String>,
}

impl AuditQuery {
    pub fn parse(query: &str) -> Result<AuditQuery, QueryError> {
        let raw: RawAuditQuery = from_query(query, "a parameter here")?;
        let limit = last(raw.limit)
            .map(|v| {
                v.parse()
                    .map_err(|_| QueryError::new("limit", "limit is a number from 1 to 500"))
            })
            .transpose()?;
        Ok(AuditQuery {
            actor: last(raw.actor),
            action: last(raw.action),
            from: time("from", raw.from)?,
            to: time("to", raw.to)?,
            cursor: last(raw.cursor),
            limit,
        })
    }
}

/// An RFC 3339 time (the last one given), refused under its own name.
fn time(field: &str, values: Vec<String>) -> Result<Option<DateTime<Utc>>, QueryError> {
    last(values)
        .map(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    QueryError::new(
                        field,
                        format!("{v:?} is not an RFC 3339 time such as 2026-11-24T10:00:00Z"),
                    )
                })
        })
        .transpose()
}

/// A single-valued parameter given more than once keeps its last value.
fn last(values: Vec<String>) -> Option<String> {
    values.into_iter().last()
}

/// Decode a query string into `T`, naming an unknown parameter as the field at fault
/// (`what` says what it is not: "a filter of this list").
fn from_query<T: DeserializeOwned>(query: &str, what: &str) -> Result<T, QueryError> {
    serde_html_form::from_str(query).map_err(|e| {
        let message = e.to_string();
        match unknown_field(&message) {
            Some(name) => QueryError::new(name, format!("{name:?} is not {what}")),
            None => QueryError::new("query", message),
        }
    })
}

/// The name in serde's "unknown field `name`, expected …" (or "…, there are no fields").
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    let end = rest
        .rfind("`, expected")
        .or_else(|| rest.rfind("`, there are no fields"))?;
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(query: &str) -> String {
        ListQuery::parse(query).unwrap_err().field
    }

    #[test]
    fn repeated_filters_gather_and_single_ones_keep_their_last_value() {
        let q = ListQuery::parse(
            "plugin=stripe&plugin=xero&status=finished&status=erroneous&q=a&q=inv%20b&limit=20",
        )
        .unwrap();
        assert_eq!(q.filter.plugin, ["stripe", "xero"]);
        assert_eq!(q.filter.status, [Status::Finished, Status::Erroneous]);
        assert_eq!(q.filter.q.as_deref(), Some("inv b"));
        assert_eq!(q.limit, 20);
        assert_eq!(q.cursor, None);
    }

    #[test]
    fn an_empty_query_is_the_whole_list_at_the_default_page_size() {
        let q = ListQuery::parse("").unwrap();
        assert_eq!(q.filter, TriggerFilter::default());
        assert_eq!(q.limit, DEFAULT_PAGE_SIZE);
    }

    #[test]
    fn every_filter_is_read_into_its_field() {
        let q = ListQuery::parse(
            "event_type=invoice.created&entity_type=invoice&entity_id=INV-1&aggregation_key=run-1\
             &scheduled_from=2026-11-01T00:00:00Z&scheduled_to=2026-11-02T00:00:00%2B01:00\
             &triggered_from=2026-11-03T00:00:00Z&triggered_to=2026-11-04T00:00:00Z&cursor=abc",
        )
        .unwrap();
        let f = &q.filter;
        assert_eq!(f.event_type.as_deref(), Some("invoice.created"));
        assert_eq!(f.entity_type.as_deref(), Some("invoice"));
        assert_eq!(f.entity_id.as_deref(), Some("INV-1"));
        assert_eq!(f.aggregation_key.as_deref(), Some("run-1"));
        assert_eq!(
            f.scheduled_to.unwrap().to_rfc3339(),
            "2026-11-01T23:00:00+00:00"
        );
        assert!(f.scheduled_from.is_some() && f.triggered_from.is_some());
        assert!(f.triggered_to.is_some());
        assert_eq!(q.cursor.as_deref(), Some("abc"));
    }

    #[test]
    fn empty_values_stay_values_for_the_service_to_judge() {
        let q = ListQuery::parse("plugin=&event_type=&q=").unwrap();
        assert_eq!(q.filter.plugin, [""]);
        assert_eq!(q.filter.event_type.as_deref(), Some(""));
        assert_eq!(q.filter.q.as_deref(), Some(""));
        assert_eq!(refused("status="), "status");
    }

    #[test]
    fn a_bad_value_is_refused_under_its_own_name() {
        assert_eq!(refused("status=done"), "status");
        assert_eq!(refused("scheduled_from=last-week"), "scheduled_from");
        assert_eq!(refused("triggered_to=2026-13-01T00:00:00Z"), "triggered_to");
        assert_eq!(refused("limit=ten"), "limit");
        assert_eq!(refused("limit=-1"), "limit");
        assert_eq!(refused("include_inactive=yes"), "include_inactive");
        assert!(
            ListQuery::parse("include_inactive=true")
                .unwrap()
                .filter
                .include_inactive
        );
        assert_eq!(refused("colour=red"), "colour");
        assert_eq!(refused("plugin=a&weird%60name=1"), "weird`name");
        let e = ListQuery::parse("colour=red").unwrap_err();
        assert_eq!(e.message, "\"colour\" is not a filter of this list");
    }

    #[test]
    fn the_address_bar_drops_what_the_list_would_refuse_and_keeps_the_rest() {
        let q = ListQuery::parse_lenient(
            "status=done&plugin=xero&colour=red&scheduled_from=soon&entity_id=INV-1",
        );
        assert_eq!(q.filter.plugin, ["xero"]);
        assert_eq!(q.filter.entity_id.as_deref(), Some("INV-1"));
        assert!(q.filter.status.is_empty() && q.filter.scheduled_from.is_none());
        assert_eq!(
            ListQuery::parse_lenient("%%%&&=").filter,
            TriggerFilter::default()
        );
    }

    #[test]
    fn an_export_takes_a_format_and_the_lists_filters_but_no_page() {
        let q = ExportQuery::parse("format=ndjson&plugin=xero&status=erroneous").unwrap();
        assert_eq!(q.format, ExportFormat::Ndjson);
        assert_eq!(q.filter.plugin, ["xero"]);
        assert_eq!(ExportQuery::parse("").unwrap().format, ExportFormat::Csv);
        assert_eq!(
            ExportQuery::parse("format=xlsx").unwrap_err().field,
            "format"
        );
        assert_eq!(ExportQuery::parse("limit=5").unwrap_err().field, "limit");
        assert_eq!(
            ExportQuery::parse("status=done").unwrap_err().field,
            "status"
        );
    }

    #[test]
    fn the_audit_query_reads_who_what_when_and_the_page() {
        assert_eq!(AuditQuery::parse("").unwrap(), AuditQuery::default());
        let q = AuditQuery::parse(
            "actor=on-call&action=api_key.revoke&from=2026-11-01T00:00:00Z\
             &to=2026-11-02T00:00:00%2B01:00&cursor=abc&limit=5",
        )
        .unwrap();
        assert_eq!(q.actor.as_deref(), Some("on-call"));
        assert_eq!(q.action.as_deref(), Some("api_key.revoke"));
        assert_eq!(q.from.unwrap().to_rfc3339(), "2026-11-01T00:00:00+00:00");
        assert_eq!(q.to.unwrap().to_rfc3339(), "2026-11-01T23:00:00+00:00");
        assert_eq!((q.cursor.as_deref(), q.limit), (Some("abc"), Some(5)));
    }

    #[test]
    fn a_bad_audit_parameter_is_refused_under_its_own_name() {
        let refused = |q: &str| AuditQuery::parse(q).unwrap_err().field;
        assert_eq!(refused("limit=x"), "limit");
        assert_eq!(refused("from=yesterday"), "from");
        assert_eq!(refused("to=2026-13-01T00:00:00Z"), "to");
        let e = AuditQuery::parse("plugin=a").unwrap_err();
        assert_eq!(e.field, "plugin");
        assert_eq!(e.message, "\"plugin\" is not a parameter here");
    }
}
