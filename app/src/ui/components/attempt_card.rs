//! One attempt of a trigger, as an administrator reads it: what came back, what
//! that usually means (DESIGN.md's failure table), what was decided, who started
//! it and why, and the request and response themselves.

use std::collections::BTreeMap;

use leptos::prelude::*;

use super::LocalTime;
use crate::domain::{
    Attempt, AttemptResponse, DecisionAction, FailureClass, LogEntry, LogStep, StartedByKind,
};
use crate::ui::links::plugin_href;

/// How many bytes of a binary body the hex preview shows.
const HEX_PREVIEW_BYTES: usize = 64;

/// Why each manual or migration run was asked for, by attempt number, read from
/// the trigger's log: the executor writes "claimed by …, attempt N" and then
/// "manual run by alice: the reason" when it starts such a run.
pub fn run_reasons(logs: &[LogEntry]) -> BTreeMap<u32, String> {
    let mut reasons = BTreeMap::new();
    let mut attempt = None;
    for line in logs {
        match line.step {
            LogStep::Claimed => {
                attempt = line
                    .message
                    .rsplit_once("attempt ")
                    .and_then(|(_, n)| n.trim().parse::<u32>().ok());
            }
            LogStep::Manual | LogStep::Migration => {
                if let Some(n) = attempt.take() {
                    reasons.insert(n, line.message.clone());
                }
            }
            _ => {}
        }
    }
    reasons
}

/// The reason alone, from a run's log line ("manual run by alice: the reason").
fn reason_of(line: &str, kind: StartedByKind, actor: Option<&str>) -> Option<String> {
    let exact = actor.map(|a| format!("{} run by {a}: ", kind.as_str()));
    let reason = match exact.as_deref().and_then(|p| line.strip_prefix(p)) {
        Some(reason) => reason,
        None => line.split_once(": ")?.1,
    };
    Some(reason.to_string())
}

/// Who or what started an attempt, in words.
fn started_by_words(a: &Attempt) -> String {
    let actor = a.started_by.actor.as_deref();
    match (a.started_by.kind, actor) {
        (StartedByKind::Automatic, _) if a.number == 1 => "automatic".into(),
        (StartedByKind::Automatic, _) => "automatic retry".into(),
        (StartedByKind::Manual, Some(who)) => format!("manual re-run by {who}"),
        (StartedByKind::Migration, Some(who)) => format!("migration by {who}"),
        (kind, Some(who)) => format!("{} by {who}", kind.as_str()),
        (kind, None) => kind.as_str().to_string(),
    }
}

/// A duration people read: "182 ms", "2.4 s".
pub fn duration_words(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// One attempt. `log_line` is its run's line from [`run_reasons`], when a user
/// or a migration asked for it; `open` shows the request and response at once.
#[component]
pub fn AttemptCard(
    a: Attempt,
    /// The plugin's name: an `auth` failure links to its page to reconnect it.
    plugin: String,
    log_line: Option<String>,
    #[prop(optional)] open: bool,
) -> impl IntoView {
    let status = a
        .response
        .as_ref()
        .map(|r| format!("HTTP {}", r.status))
        .unwrap_or_else(|| "no response".into());
    let by = started_by_words(&a);
    let class = a.class;
    let number = a.number;
    let (started_at, duration) = (a.started_at, duration_words(a.duration_ms));
    view! {
        <li
            class=format!("attempt class-{}", class.as_str())
            id=format!("attempt-{number}")
            data-testid="attempt"
            data-number=number.to_string()
        >
            <div class="attempt-head">
                <strong>{format!("#{number}")}</strong>
                <LocalTime at=started_at/>
                <span>{duration}</span>
                <span class="code">{status}</span>
                <span class="class">{class.as_str().replace('_', " ")}</span>
                <span class="muted by">{by}</span>
            </div>
            <RunOrigin a=a.clone() log_line/>
            {(class != FailureClass::Success).then(|| view! { <Hint class plugin/> })}
            <Decision a=a.clone()/>
            <details open=open>
                <summary>"Request and response"</summary>
                <Exchange a/>
            </details>
        </li>
    }
}

/// For a run a user or a migration asked for: what led to it and why.
#[component]
fn RunOrigin(a: Attempt, log_line: Option<String>) -> impl IntoView {
    let kind = a.started_by.kind;
    if !matches!(kind, StartedByKind::Manual | StartedByKind::Migration) {
        return ().into_any();
    }
    let actor = a.started_by.actor.clone();
    let what = match kind {
        StartedByKind::Migration => "Migration re-run of ",
        _ => "Re-run of ",
    };
    let by = actor
        .as_deref()
        .map(|who| format!(" by {who}"))
        .unwrap_or_default();
    let reason = log_line
        .as_deref()
        .and_then(|line| reason_of(line, kind, actor.as_deref()))
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    let previous = a.number.checked_sub(1).filter(|n| *n > 0);
    view! {
        <p class="rerun-of" data-testid="rerun-of">
            {match previous {
                Some(n) => view! {
                    {what}
                    <a href=format!("#attempt-{n}")>{format!("attempt #{n}")}</a>
                }
                .into_any(),
                None => "Run asked for".into_any(),
            }}
            {by}
            {reason}
        </p>
    }
    .into_any()
}

/// What a failure of this class usually means, and what to do. An `auth`
/// failure's advice links to the plugin's page, where it is reconnected.
#[component]
pub fn Hint(class: FailureClass, plugin: String) -> impl IntoView {
    let hint = class.hint();
    let advice = match hint.strip_suffix("reconnect the plugin") {
        Some(before) if class == FailureClass::Auth => view! {
            {before}
            <a href=plugin_href(&plugin) data-testid="reconnect">"reconnect the plugin"</a>
        }
        .into_any(),
        _ => hint.into_any(),
    };
    view! { <p class="hint" data-testid="hint">{advice}</p> }
}

/// What was decided after the attempt, and why (the reason starts with the
/// decision: "stop: …", "retry at …: …", "finished: …").
#[component]
fn Decision(a: Attempt) -> impl IntoView {
    let retry_at = a
        .decision
        .at
        .filter(|_| a.decision.action == DecisionAction::Retry);
    view! {
        <p class="decision" data-testid="decision">
            <strong>"Decision: "</strong>
            {decision_words(&a.decision.reason)}
            {retry_at.map(|at| view! { " (next attempt " <LocalTime at/> ")" })}
        </p>
    }
}

/// The stored reason without the instant a retry names in UTC ("retry at
/// 2026-11-28T07:29:06+00:00: 503 server …" reads "retry: 503 server …"): the
/// page shows that time itself, in the reader's zone.
fn decision_words(reason: &str) -> String {
    match reason
        .strip_prefix("retry at ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((_, why)) => format!("retry: {why}"),
        None => reason.to_string(),
    }
}

/// The request as sent (credentials already `[redacted]` by the server) and the
/// response as received.
#[component]
fn Exchange(a: Attempt) -> impl IntoView {
    let request = format!("{} {}", a.request.method, a.request.url);
    let request_body = a.request.body.clone().unwrap_or_default();
    let response = a.response.map(|r| {
        let truncated = r.truncated;
        view! {
            <p class="muted">{if truncated { "Response (cut at 64 KiB):" } else { "Response:" }}</p>
            <Headers headers=r.headers.clone()/>
            <Body r/>
        }
        .into_any()
    });
    view! {
        <p class="mono">{request}</p>
        <Headers headers=a.request.headers/>
        <pre class="json" tabindex="0">{request_body}</pre>
        {response.unwrap_or_else(|| view! { <p class="muted">"No response came."</p> }.into_any())}
    }
}

/// Header names and values, one a line.
#[component]
fn Headers(headers: BTreeMap<String, String>) -> impl IntoView {
    (!headers.is_empty()).then(|| {
        view! {
            <dl class="headers">
                {headers
                    .into_iter()
                    .map(|(name, value)| view! { <dt>{name}</dt> <dd>{value}</dd> })
                    .collect_view()}
            </dl>
        }
    })
}

/// A response body: the text itself, or for bytes that are not text, their
/// size and the first of them in hex (they would show as garbage otherwise).
#[component]
fn Body(r: AttemptResponse) -> impl IntoView {
    match (r.binary_len(), r.binary_prefix(HEX_PREVIEW_BYTES)) {
        (Some(len), Some(bytes)) => {
            let more = len > bytes.len();
            view! {
                <p class="binary" data-testid="binary-body">{format!("binary, {len} bytes")}</p>
                <pre class="json hex" tabindex="0" data-testid="hex-preview">
                    {hex_lines(&bytes)}
                    {more.then_some("\n…")}
                </pre>
            }
            .into_any()
        }
        _ => view! { <pre class="json" tabindex="0">{r.body.unwrap_or_default()}</pre> }.into_any(),
    }
}

/// Bytes in hex, sixteen a line.
pub fn hex_lines(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .map(|line| {
            line.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_decision_reads_without_its_utc_instant() {
        assert_eq!(
            decision_words(
                "retry at 2026-11-28T07:29:06.237145+00:00: 503 server: the provider is down"
            ),
            "retry: 503 server: the provider is down"
        );
        assert_eq!(
            decision_words("stop: 422 validation: read it"),
            "stop: 422 validation: read it"
        );
    }
    use chrono::Utc;

    fn line(step: LogStep, message: &str) -> LogEntry {
        LogEntry {
            at: Utc::now(),
            step,
            message: message.into(),
        }
    }

    #[test]
    fn each_run_asked_for_is_matched_to_its_attempt() {
        let logs = [
            line(LogStep::Queued, "queued for 2026-11-24T10:00:00Z"),
            line(LogStep::Claimed, "claimed by worker-1, attempt 1"),
            line(LogStep::Failed, "422 validation: …"),
            line(LogStep::Claimed, "claimed by worker-1, attempt 2"),
            line(LogStep::Manual, "manual run by alice: fixed: the VAT id"),
            line(LogStep::Finished, "finished"),
            line(LogStep::Claimed, "claimed by worker-2, attempt 3"),
            line(LogStep::Migration, "migration run by bob: token renewed"),
        ];
        let reasons = run_reasons(&logs);
        assert_eq!(reasons.len(), 2);
        let second = &reasons[&2];
        assert_eq!(
            reason_of(second, StartedByKind::Manual, Some("alice")).as_deref(),
            Some("fixed: the VAT id"),
            "a colon inside the reason stays in it"
        );
        assert_eq!(
            reason_of(&reasons[&3], StartedByKind::Migration, Some("bob")).as_deref(),
            Some("token renewed")
        );
    }

    #[test]
    fn hex_previews_show_sixteen_bytes_a_line() {
        assert_eq!(hex_lines(&[0x00, 0xff, 0x10]), "00 ff 10");
        let lines: Vec<String> = hex_lines(&[7; 20]).lines().map(String::from).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1], "07 07 07 07");
    }

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        assert_eq!(duration_words(182), "182 ms");
        assert_eq!(duration_words(2400), "2.4 s");
    }
}
