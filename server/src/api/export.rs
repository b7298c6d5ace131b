//! `GET /api/v1/triggers/export`: the whole filtered log as CSV or NDJSON,
//! streamed a page at a time. The browser's Export button uses the same
//! writer through its session (`web.rs`).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use app::domain::{ExportFormat, ExportQuery, Trigger};

use super::extract::Caller;
use super::params::FilterParams;
use super::ApiError;
use crate::service::{Export, Principal, Service};

#[utoipa::path(get, path = "/api/v1/triggers/export", tag = "triggers",
    extensions(("x-required-role" = json!("viewer"))),
    description = "The whole filtered set (not a page), newest first, redacted like the list. \
                   More rows than CALLTRAIL_EXPORT_MAX_ROWS is refused before anything is sent.",
    params(
        ("format" = Option<String>, Query, description = "csv (default) or ndjson"),
        FilterParams,
    ),
    responses((status = 200, description = "one trigger per row; X-Total-Count says how many",
               content((String = "text/csv"), (String = "application/x-ndjson")))))]
pub async fn export_triggers(
    State(svc): State<Arc<Service>>,
    Caller(who): Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    export_response(&svc, &who, query.as_deref().unwrap_or("")).await
}

/// Check the query and the caller, then stream the file.
pub async fn export_response(
    svc: &Service,
    who: &Principal,
    query: &str,
) -> Result<Response, ApiError> {
    let q = ExportQuery::parse(query)
        .map_err(|e| ApiError::invalid(e.field.clone(), e.message.clone()))?;
    let export = svc.export_triggers(who, q.filter).await?;
    Ok(stream(export, q.format))
}

fn stream(export: Export, format: ExportFormat) -> Response {
    let (content_type, extension) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Ndjson => ("application/x-ndjson", "ndjson"),
    };
    let header = match format {
        ExportFormat::Csv => Some(Ok::<_, std::io::Error>(Bytes::from(csv_header()))),
        ExportFormat::Ndjson => None,
    };
    let rows = export.pages.map(move |page| match page {
        Ok(triggers) => Ok(Bytes::from(match format {
            ExportFormat::Csv => csv_rows(&triggers),
            ExportFormat::Ndjson => ndjson_rows(&triggers),
        })),
        // Headers are gone by now: the cut-off file and the log are all we can leave.
        Err(e) => {
            tracing::error!(error = ?e, "an export stopped part-way");
            Err(std::io::Error::other("the export stopped part-way"))
        }
    });
    let body = Body::from_stream(futures::stream::iter(header).chain(rows));
    let filename = format!(
        "calltrail-triggers-{}.{extension}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    );
    (
        [
            (CONTENT_TYPE, content_type.to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (
                axum::http::HeaderName::from_static("x-total-count"),
                export.rows.to_string(),
            ),
        ],
        body,
    )
        .into_response()
}

const COLUMNS: [&str; 19] = [
    "id",
    "plugin",
    "event_type",
    "action",
    "entity_type",
    "entity_id",
    "initiator_kind",
    "initiator_name",
    "aggregation_key",
    "status",
    "attempts",
    "scheduled_at",
    "triggered_at",
    "finished_at",
    "duration_ms",
    "external_id",
    "last_error_class",
    "last_error_status",
    "last_error_message",
];

fn csv_header() -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS).expect("writing to memory");
    w.into_inner().expect("writing to memory")
}

fn csv_rows(triggers: &[Trigger]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(triggers.len() * 256));
    for t in triggers {
        let time = |v: Option<chrono::DateTime<chrono::Utc>>| {
            v.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default()
        };
        let record = [
            t.id.to_string(),
            t.plugin.clone(),
            t.event_type.clone(),
            t.action.clone().unwrap_or_default(),
            t.entity
                .as_ref()
                .map(|e| e.entity_type.clone())
                .unwrap_or_default(),
            t.entity.as_ref().map(|e| e.id.clone()).unwrap_or_default(),
            t.initiator.kind.as_str().to_string(),
            t.initiator.name.clone(),
            t.aggregation_key.clone().unwrap_or_default(),
            t.status.as_str().to_string(),
            t.attempts.to_string(),
            time(Some(t.scheduled_at)),
            time(t.triggered_at),
            time(t.finished_at),
            t.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
            t.external_id.clone().unwrap_or_default(),
            t.last_error
                .as_ref()
                .map(|e| e.class.as_str().to_string())
                .unwrap_or_default(),
            t.last_error
                .as_ref()
                .and_then(|e| e.status_code)
                .map(|s| s.to_string())
                .unwrap_or_default(),
            t.last_error
                .as_ref()
                .map(|e| e.message.clone())
                .unwrap_or_default(),
        ];
        w.write_record(record.iter().map(|v| spreadsheet_safe(v).into_owned()))
            .expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) is
/// prefixed with `'`, so opening an export never executes what a provider wrote.
fn spreadsheet_safe(value: &str) -> std::borrow::Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}").into(),
        _ => value.into(),
    }
}

fn ndjson_rows(triggers: &[Trigger]) -> Vec<u8> {
    let mut out = Vec::with_capacity(triggers.len() * 512);
    for t in triggers {
        serde_json::to_writer(&mut out, t).expect("a trigger serialises");
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn cells_a_spreadsheet_would_run_as_formulas_are_quoted() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("-1+2"), "'-1+2");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("INV-1"), "INV-1");
        assert_eq!(spreadsheet_safe(""), "");
    }
}
