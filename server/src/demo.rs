//! Demo data: a few plugins and several hundred triggers across every status,
//! with attempts and logs, so the log is never empty on first run.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use app::domain::{
    Attempt, AttemptRequest, AttemptResponse, EntityRef, FailureClass, Initiator, InitiatorKind,
    Route, Status,
};

use crate::outcome::{self, Answer, Stop, Verdict};
use crate::service::{truncate, PluginInput, Principal, Service};
use crate::storage::{AttemptOutcome, NewTrigger, PluginKey};

struct DemoPlugin {
    name: &'static str,
    display: &'static str,
    base_url: &'static str,
    events: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

/// (event type, action, entity type, path)
const PLUGINS: [DemoPlugin; 5] = [
    DemoPlugin {
        name: "sandbox",
        display: "Sandbox CRM",
        base_url: "",
        events: &[
            (
                "customer.created",
                "Push customer",
                "customer",
                "/customers/{entity_id}",
            ),
            (
                "invoice.available",
                "Create invoice",
                "invoice",
                "/invoices",
            ),
        ],
    },
    DemoPlugin {
        name: "stripe",
        display: "Stripe",
        base_url: "https://api.stripe.com",
        events: &[
            (
                "invoice.available",
                "Create invoice",
                "invoice",
                "/v1/invoices",
            ),
            (
                "customer.created",
                "Push customer",
                "customer",
                "/v1/customers",
            ),
        ],
    },
    DemoPlugin {
        name: "xero",
        display: "Xero",
        base_url: "https://api.xero.com",
        events: &[
            (
                "invoice.available",
                "Create invoice",
                "invoice",
                "/api.xro/2.0/Invoices",
            ),
            (
                "contract.updated",
                "Update contact",
                "contract",
                "/api.xro/2.0/Contacts",
            ),
        ],
    },
    DemoPlugin {
        name: "slack",
        display: "Slack",
        base_url: "https://slack.com",
        events: &[(
            "meter.alert",
            "Post message",
            "meter",
            "/api/chat.postMessage",
        )],
    },
    DemoPlugin {
        name: "google-calendar",
        display: "Google Calendar",
        base_url: "https://www.googleapis.com",
        events: &[(
            "contract.updated",
            "Create event",
            "contract",
            "/calendar/v3/events",
        )],
    },
];

/// Seed `count` triggers; the sandbox plugin calls `sandbox_url` (a server's `/_sandbox`).
pub async fn seed(service: &Service, count: usize, sandbox_url: &str) -> anyhow::Result<usize> {
    let admin = Principal::system("demo");
    let store = service.store();
    if store
        .reads()
        .get_plugin(&PluginKey::Name("stripe".into()))
        .await?
        .is_some()
    {
        tracing::info!("demo data already present");
        return Ok(0);
    }
    let mut plugins = Vec::new();
    for p in &PLUGINS {
        let routes: BTreeMap<String, Route> = p
            .events
            .iter()
            .map(|(event, _, _, path)| {
                (
                    event.to_string(),
                    Route {
                        method: "POST".into(),
                        path: path.to_string(),
                    },
                )
            })
            .collect();
        // The sandbox answers on this machine; the real providers are out of reach
        // here, so they stay inactive and their triggers wait.
        let sandbox = p.base_url.is_empty();
        let base_url = if sandbox {
            sandbox_url.to_string()
        } else {
            p.base_url.to_string()
        };
        let input: PluginInput = serde_json::from_value(serde_json::json!({
            "name": p.name, "display_name": p.display, "base_url": base_url,
            "routes": routes, "external_id_pointer": "/id", "active": sandbox,
            "auth": {"type": "bearer", "token": format!("demo_{}_token", p.name)},
            "retry_policy": {"schedule_secs": [10, 30, 60], "max_attempts": 4, "jitter_pct": 10, "retry_after_cap_secs": 300},
        }))?;
        let plugin = service
            .create_plugin(&admin, input)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        plugins.push((plugin, p));
    }

    let mut rng = StdRng::seed_from_u64(42);
    let now = truncate(Utc::now());
    let mut outcomes = Vec::new();
    let mut triggers = Vec::with_capacity(count);
    for i in 0..count {
        let (plugin, demo) = &plugins[rng.gen_range(0..plugins.len())];
        let (event, action, entity_type, path) = demo.events[rng.gen_range(0..demo.events.len())];
        let scheduled_at = now - Duration::seconds(rng.gen_range(60..7 * 24 * 3600));
        let entity_id = format!("{}-{}", entity_type[..3].to_ascii_uppercase(), 1000 + i);
        let roll: u32 = rng.gen_range(0..100);
        let status = match roll {
            0..=59 => Status::Finished,
            60..=71 => Status::Erroneous,
            72..=81 => Status::Retrying,
            82..=84 => Status::Running,
            _ => Status::NotYetStarted,
        };
        let id = Uuid::now_v7();
        let initiator = match rng.gen_range(0..4) {
            0 => Initiator {
                kind: InitiatorKind::Automation,
                name: "Nightly billing run".into(),
            },
            1 => Initiator {
                kind: InitiatorKind::User,
                name: "ada@example.com".into(),
            },
            2 => Initiator {
                kind: InitiatorKind::Agent,
                name: "Collections agent".into(),
            },
            _ => Initiator {
                kind: InitiatorKind::System,
                name: "CRM sync".into(),
            },
        };
        let sandbox = demo.base_url.is_empty();
        // Real providers are inactive in the demo: nothing of theirs is in flight.
        let status = if status == Status::Running && !sandbox {
            Status::NotYetStarted
        } else {
            status
        };
        let mut payload = serde_json::json!({
            "id": entity_id, "amount": rng.gen_range(100..100_000), "currency": "EUR",
        });
        // Some of the sandbox's waiting triggers will fail live: one transiently
        // (watch it retry, then turn red), one at once.
        if sandbox && status == Status::NotYetStarted {
            match i % 6 {
                0 => payload["simulate"] = serde_json::json!(503),
                1 => payload["simulate"] = serde_json::json!(422),
                _ => {}
            }
        }
        triggers.push(NewTrigger {
            id,
            plugin_id: plugin.id,
            event_type: event.into(),
            action: Some(action.into()),
            entity: Some(EntityRef {
                entity_type: entity_type.into(),
                id: entity_id.clone(),
            }),
            initiator,
            payload: payload.to_string(),
            aggregation_key: (i % 7 == 0)
                .then(|| format!("billing-run-{}", scheduled_at.format("%Y-%m-%d"))),
            idempotency: None,
            status: if status == Status::Running {
                Status::Running
            } else {
                Status::NotYetStarted
            },
            scheduled_at,
            next_attempt_at: Some(scheduled_at),
            logs: vec![outcome::queued(scheduled_at, scheduled_at, None)],
            created_by: Some(admin.identity.tag()),
        });
        let attempts = match status {
            Status::NotYetStarted | Status::Running => 0,
            Status::Finished => rng.gen_range(1..=2),
            Status::Retrying => rng.gen_range(1..=3),
            Status::Erroneous => rng.gen_range(1..=4),
        };
        if attempts > 0 {
            // Not due until its history is written below: a server already running
            // on this database would otherwise claim it in between and record an
            // attempt under the same number.
            if let Some(t) = triggers.last_mut() {
                t.next_attempt_at = None;
            }
        }
        let url = format!("{}{}", plugin.base_url, path);
        let mut at = scheduled_at + Duration::milliseconds(rng.gen_range(50..4000));
        for n in 1..=attempts {
            let last = n == attempts;
            let (code, class) = match (status, last) {
                (Status::Finished, true) => (200, FailureClass::Success),
                (Status::Erroneous, true) => *[
                    (422, FailureClass::Validation),
                    (401, FailureClass::Auth),
                    (404, FailureClass::NotFound),
                ]
                .get(rng.gen_range(0..3))
                .unwrap(),
                _ => *[
                    (503, FailureClass::Server),
                    (429, FailureClass::RateLimited),
                ]
                .get(rng.gen_range(0..2))
                .unwrap(),
            };
            let duration_ms = rng.gen_range(40..1800);
            let external = (class == FailureClass::Success)
                .then(|| format!("{}_{:06}", &demo.name[..2], rng.gen_range(0..999_999)));
            let body = match class {
                FailureClass::Success => serde_json::json!({"id": external}).to_string(),
                FailureClass::Validation => r#"{"error":{"message":"Invalid currency: EUR is not enabled for this account","param":"currency"}}"#.into(),
                FailureClass::Auth => r#"{"error":"invalid_grant","error_description":"token expired"}"#.into(),
                FailureClass::NotFound => r#"{"error":"No such customer"}"#.into(),
                FailureClass::RateLimited => r#"{"error":"rate limit exceeded"}"#.into(),
                _ => "<html><body>503 Service Unavailable</body></html>".into(),
            };
            let next = at + Duration::seconds(60 * n as i64);
            let answer = Answer {
                class,
                status_code: Some(code),
                error: None,
            };
            let verdict = if class == FailureClass::Success {
                Verdict::Finish {
                    external_id: external.as_deref(),
                }
            } else if !class.is_retryable() {
                Verdict::Stop(Stop::NotRetryable)
            } else if last && status == Status::Erroneous {
                Verdict::Stop(Stop::RetriesExhausted)
            } else {
                Verdict::Retry { at: next }
            };
            let concluded = outcome::conclude(&answer, verdict);
            let ended_at = at + Duration::milliseconds(duration_ms);
            let mut req_headers = BTreeMap::new();
            req_headers.insert("authorization".to_string(), "[redacted]".to_string());
            req_headers.insert("content-type".to_string(), "application/json".to_string());
            req_headers.insert("webhook-id".to_string(), format!("msg_{id}"));
            outcomes.push(AttemptOutcome {
                trigger_id: id,
                lease: None,
                attempt: Attempt {
                    id: Uuid::now_v7(),
                    number: n,
                    started_at: at,
                    duration_ms,
                    started_by: app::domain::StartedBy {
                        kind: app::domain::StartedByKind::Automatic,
                        actor: None,
                    },
                    request: AttemptRequest {
                        method: "POST".into(),
                        url: url.clone(),
                        headers: req_headers,
                        body: Some(payload.to_string()),
                    },
                    response: Some(AttemptResponse {
                        status: code,
                        headers: BTreeMap::from([(
                            "content-type".to_string(),
                            "application/json".to_string(),
                        )]),
                        body: Some(body),
                        body_encoding: None,
                        truncated: false,
                    }),
                    class,
                    decision: concluded.decision.clone(),
                },
                status: concluded.status,
                next_attempt_at: concluded.decision.at,
                finished_at: concluded.status.is_final().then_some(ended_at),
                external_id: external,
                last_error: answer.last_error(),
                logs: vec![
                    outcome::claimed(at, "demo worker", n),
                    outcome::request_sent(at, "POST", &url),
                    answer.classified(ended_at),
                    concluded.line(ended_at),
                ],
            });
            at = next;
        }
    }
    store.insert_triggers(triggers).await?;
    for o in outcomes {
        store.record_attempt(o).await?;
    }
    Ok(count)
}

/// The demo's admin account, with a fresh random password (printed once by
/// `calltrail demo`, so whoever ran it can sign in at once).
pub const DEMO_ADMIN: &str = "admin@example.com";

pub async fn admin_user(service: &Service) -> anyhow::Result<(String, String)> {
    use rand::distributions::{Alphanumeric, DistString};
    let password = Alphanumeric.sample_string(&mut rand::thread_rng(), 20);
    let input = crate::service::UserInput {
        email: DEMO_ADMIN.into(),
        role: "admin".into(),
        plugins: None,
        password: crate::service::Secret::new(password.clone()),
    };
    service
        .create_user(&Principal::system("demo"), input)
        .await
        .map_err(|e| anyhow::anyhow!("adding the demo's admin user: {e}"))?;
    Ok((DEMO_ADMIN.to_string(), password))
}
