//! The storage conformance suite: every case runs against SQLite and PostgreSQL.

mod common;

use std::collections::{BTreeMap, HashSet};

use app::domain::{
    Attempt, AttemptRequest, AttemptResponse, Decision, DecisionAction, EntityRef, FailureClass,
    Initiator, InitiatorKind, LastError, LogEntry, LogStep, StartedBy, StartedByKind, Status,
};
use calltrail::service::{truncate, Limits, SecretBox, Service};
use calltrail::storage::{
    AttemptOutcome, AuditEntry, Claim, Cursor, Idempotency, Inserted, MigrationRecord,
    MigrationStep, MigrationWork, NewTrigger, PendingRun, PluginKey, Removal, RunRequest,
    SharedStore, StepOutcome, StoreError, StoreFilter,
};
use chrono::{Duration, Utc};
use common::Db;
use uuid::Uuid;

on_both_databases!(
    a_plugin_round_trips_and_its_secrets_are_stored_sealed,
    a_second_plugin_with_the_same_name_is_refused,
    triggers_page_newest_first_without_gaps_or_repeats_while_rows_arrive,
    every_filter_narrows_the_list_and_filters_combine,
    a_search_finds_payload_text_never_a_sealed_value_and_forgets_removed_details,
    a_common_search_walks_the_list_and_agrees_with_the_rare_one,
    an_idempotency_key_returns_the_first_trigger_and_tells_a_different_body,
    an_attempt_moves_the_trigger_and_the_detail_shows_attempts_and_logs_in_order,
    a_reported_call_is_written_with_its_attempt_in_one_go,
    two_hundred_concurrent_inserts_all_succeed,
    a_write_that_fails_among_concurrent_ones_fails_alone_and_leaves_nothing,
    claims_beside_failing_writes_hand_out_each_due_trigger_once,
    an_api_key_is_found_by_its_hash_only,
    due_triggers_are_claimed_once_oldest_first_and_inactive_plugins_wait,
    an_expired_lease_is_claimed_again_and_the_stale_result_is_refused,
    a_rerun_is_queued_with_its_audit_row_unless_an_attempt_is_in_flight,
    a_migration_counts_its_items_outcomes_and_a_cancel_is_final,
    a_migration_lease_is_taken_once_it_expires_or_is_given_up,
    a_created_item_is_one_trigger_even_when_its_record_was_lost,
    a_claim_takes_at_most_its_limit_of_due_triggers_and_expired_leases_together,
    an_expired_lease_whose_retries_are_spent_ends_erroneous_with_the_interrupted_attempt,
    an_expired_lease_of_an_inactive_plugin_waits_until_the_plugin_is_active,
    a_released_claim_is_due_again_uncounted_unless_its_lease_was_lost,
    a_batch_of_outcomes_moves_each_trigger_whose_lease_holds_and_no_other,
    the_kept_counts_agree_with_the_triggers_through_every_kind_of_write,
);

fn new_trigger(plugin_id: Uuid, at: chrono::DateTime<Utc>) -> NewTrigger {
    NewTrigger {
        id: Uuid::now_v7(),
        plugin_id,
        event_type: "invoice.available".into(),
        action: Some("Create invoice".into()),
        entity: Some(EntityRef {
            entity_type: "invoice".into(),
            id: "INV-1".into(),
        }),
        initiator: Initiator {
            kind: InitiatorKind::Automation,
            name: "Nightly billing run".into(),
        },
        payload: r#"{"amount":1200}"#.into(),
        aggregation_key: None,
        idempotency: None,
        status: Status::NotYetStarted,
        scheduled_at: truncate(at),
        next_attempt_at: Some(truncate(at)),
        logs: vec![LogEntry {
            at: truncate(at),
            step: LogStep::Queued,
            message: "queued".into(),
        }],
        created_by: Some("key:test".into()),
    }
}

async fn setup(
    db: Db,
) -> (
    SharedStore,
    std::sync::Arc<Service>,
    Uuid,
    Uuid,
    common::Fresh,
) {
    let (store, fresh) = common::store(db).await;
    let service = Service::new(store.clone(), SecretBox::random(), Limits::default());
    let a = common::plugin_via_service(&service, "stripe").await.id;
    let b = common::plugin_via_service(&service, "xero").await.id;
    (store, service, a, b, fresh)
}

async fn all_ids(store: &SharedStore, f: &StoreFilter) -> Vec<Uuid> {
    store
        .reads()
        .list_triggers(f, None, 500)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect()
}

async fn a_plugin_round_trips_and_its_secrets_are_stored_sealed(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let by_name = store
        .reads()
        .get_plugin(&PluginKey::Name("stripe".into()))
        .await
        .unwrap()
        .unwrap();
    let by_id = store
        .reads()
        .get_plugin(&PluginKey::Id(stripe))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_name.plugin, by_id.plugin);
    assert_eq!(by_name.plugin.display_name, "STRIPE");
    assert_eq!(
        by_name.plugin.routes["invoice.available"].path,
        "/v1/invoices/{entity_id}"
    );
    assert!(by_name.plugin.has_auth && by_name.plugin.has_signing_secret);
    let sealed = by_name.auth_sealed.unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains("PLANTED_MARKER"));
    let names: Vec<String> = store
        .reads()
        .list_plugins()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.plugin.name)
        .collect();
    assert_eq!(names, ["stripe", "xero"]);
    assert!(store
        .reads()
        .get_plugin(&PluginKey::Name("nope".into()))
        .await
        .unwrap()
        .is_none());
}

async fn a_second_plugin_with_the_same_name_is_refused(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let mut copy = store
        .reads()
        .get_plugin(&PluginKey::Id(stripe))
        .await
        .unwrap()
        .unwrap();
    copy.plugin.id = Uuid::now_v7();
    let err = store.writes().insert_plugin(&copy).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err}");
}

async fn triggers_page_newest_first_without_gaps_or_repeats_while_rows_arrive(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let base = Utc::now() - Duration::hours(1);
    let mut rows: Vec<NewTrigger> = (0..25)
        .map(|i| new_trigger(stripe, base + Duration::seconds(i)))
        .collect();
    // Two triggers at the very same instant must still page deterministically.
    rows[10].scheduled_at = rows[11].scheduled_at;
    store.insert_triggers(rows.clone()).await.unwrap();

    let f = StoreFilter::default();
    let mut seen = Vec::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = store.reads().list_triggers(&f, after, 10).await.unwrap();
        if page.is_empty() {
            break;
        }
        // New rows arriving mid-paging are newer: they must not shift later pages.
        store
            .insert_trigger(new_trigger(stripe, Utc::now()))
            .await
            .unwrap();
        let last = page.last().unwrap();
        after = Some(Cursor {
            scheduled_at: last.scheduled_at,
            id: last.id,
        });
        seen.extend(page.into_iter().map(|t| (t.scheduled_at, t.id)));
        if seen.len() > 100 {
            panic!("paging does not end");
        }
    }
    // The first page also holds the first arrival; every original row appears exactly once.
    let ids: Vec<Uuid> = seen.iter().map(|(_, id)| *id).collect();
    let unique: HashSet<Uuid> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a row was repeated");
    for r in &rows {
        assert!(unique.contains(&r.id), "row {} was skipped", r.id);
    }
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "not newest first");
}

async fn every_filter_narrows_the_list_and_filters_combine(db: Db) {
    let (store, _svc, stripe, xero, _f) = setup(db).await;
    let t0 = Utc::now() - Duration::days(2);
    let mut a = new_trigger(stripe, t0);
    a.aggregation_key = Some("run-1".into());
    let mut b = new_trigger(xero, t0 + Duration::hours(1));
    b.event_type = "customer.created".into();
    b.action = Some("Push customer".into());
    b.entity = Some(EntityRef {
        entity_type: "customer".into(),
        id: "CUS-77".into(),
    });
    let mut c = new_trigger(stripe, t0 + Duration::hours(2));
    c.entity = Some(EntityRef {
        entity_type: "invoice".into(),
        id: "INV-100%".into(),
    });
    store
        .insert_triggers(vec![a.clone(), b.clone(), c.clone()])
        .await
        .unwrap();
    // c finishes: triggered and status change.
    store
        .record_attempt(outcome(c.id, 1, Status::Finished, t0 + Duration::hours(3)))
        .await
        .unwrap();

    let f = |mutate: &dyn Fn(&mut StoreFilter)| {
        let mut f = StoreFilter::default();
        mutate(&mut f);
        f
    };
    let cases: Vec<(&str, StoreFilter, Vec<Uuid>)> = vec![
        ("none", f(&|_| {}), vec![c.id, b.id, a.id]),
        ("plugin", f(&|f| f.plugin_ids = vec![xero]), vec![b.id]),
        (
            "two plugins",
            f(&|f| f.plugin_ids = vec![xero, stripe]),
            vec![c.id, b.id, a.id],
        ),
        (
            "status",
            f(&|f| f.statuses = vec![Status::Finished]),
            vec![c.id],
        ),
        (
            "statuses",
            f(&|f| f.statuses = vec![Status::Finished, Status::NotYetStarted]),
            vec![c.id, b.id, a.id],
        ),
        (
            "event type",
            f(&|f| f.event_type = Some("customer.created".into())),
            vec![b.id],
        ),
        (
            "entity",
            f(&|f| {
                f.entity_type = Some("invoice".into());
                f.entity_id = Some("INV-1".into());
            }),
            vec![a.id],
        ),
        (
            "aggregation",
            f(&|f| f.aggregation_key = Some("run-1".into())),
            vec![a.id],
        ),
        (
            "scheduled range is half-open",
            f(&|f| {
                f.scheduled_from = Some(truncate(t0));
                f.scheduled_to = Some(truncate(t0 + Duration::hours(2)));
            }),
            vec![b.id, a.id],
        ),
        (
            "triggered range",
            f(&|f| f.triggered_from = Some(t0 + Duration::minutes(150))),
            vec![c.id],
        ),
        (
            "q over entity id, escaped",
            f(&|f| f.q = Some("100%".into())),
            vec![c.id],
        ),
        (
            "q over action, any case",
            f(&|f| f.q = Some("push CUSTOMER".into())),
            vec![b.id],
        ),
        (
            "q over external id",
            f(&|f| f.q = Some("ext_".into())),
            vec![c.id],
        ),
        (
            "combined",
            f(&|f| {
                f.plugin_ids = vec![stripe];
                f.statuses = vec![Status::NotYetStarted];
            }),
            vec![a.id],
        ),
        (
            "nothing matches",
            f(&|f| f.event_type = Some("nope".into())),
            vec![],
        ),
    ];
    for (name, filter, expected) in cases {
        assert_eq!(all_ids(&store, &filter).await, expected, "filter: {name}");
    }
}

fn q(text: &str) -> StoreFilter {
    StoreFilter {
        q: Some(text.into()),
        ..StoreFilter::default()
    }
}

async fn a_search_finds_payload_text_never_a_sealed_value_and_forgets_removed_details(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let t0 = Utc::now() - Duration::days(1);
    let mut mine = new_trigger(stripe, t0);
    // As the service stores a redacted value: sealed, so not text in clear.
    mine.payload = r#"{"customer":{"email":"Ada.Lovelace@Example.COM","name":"Zoë Ünver"},
        "amount_cents":424242,"card":{"$sealed":"v1.SEALEDCIPHERTEXT"},"note":"a\u0000b"}"#
        .into();
    let other = new_trigger(stripe, t0 + Duration::hours(1));
    store
        .insert_triggers(vec![mine.clone(), other.clone()])
        .await
        .unwrap();
    for (text, expected) in [
        ("lovelace@example", vec![mine.id]),
        ("ADA.LOVE", vec![mine.id]),
        ("zoë ün", vec![mine.id]),
        ("ZOË ÜNVER", vec![mine.id]),
        ("424242", vec![mine.id]),
        // The head: action, event type, entity id; both triggers have them.
        ("create inv", vec![other.id, mine.id]),
        ("ice.avail", vec![other.id, mine.id]),
        // Neither the sealed ciphertext nor the JSON around it is text in clear.
        ("sealedcipher", vec![]),
        ("$sealed", vec![]),
        ("amount_cents", vec![]),
        ("customer", vec![]),
        ("no-such-text", vec![]),
    ] {
        assert_eq!(all_ids(&store, &q(text)).await, expected, "q={text}");
        let counted: u64 = store
            .reads()
            .count_by_status(&q(text))
            .await
            .unwrap()
            .iter()
            .map(|(_, n)| n)
            .sum();
        assert_eq!(counted, expected.len() as u64, "count of q={text}");
    }

    // An external id learnt on success is found.
    store
        .record_attempt(outcome(
            mine.id,
            1,
            Status::Finished,
            t0 + Duration::hours(2),
        ))
        .await
        .unwrap();
    assert_eq!(all_ids(&store, &q("EXT_1")).await, vec![mine.id]);

    // Details removed (retention, erasure): the payload's text leaves the index; what
    // the summary row still shows (action, entity id, external id) stays findable.
    let removed = store
        .remove_details(&[mine.id], Utc::now(), Removal::Erasure)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(all_ids(&store, &q("lovelace")).await, Vec::<Uuid>::new());
    assert_eq!(all_ids(&store, &q("424242")).await, Vec::<Uuid>::new());
    assert_eq!(all_ids(&store, &q("ext_1")).await, vec![mine.id]);
    assert_eq!(
        all_ids(&store, &q("create inv")).await,
        vec![other.id, mine.id]
    );
    // A trigger's deletion takes its search row with it.
    assert_eq!(store.delete_triggers(&[mine.id]).await.unwrap(), 1);
    assert_eq!(all_ids(&store, &q("create inv")).await, vec![other.id]);
}

/// Past `SEARCH_SCAN_FROM` matches the list walks its own order instead of the
/// index's matches: the page must be the same rows the index would give.
async fn a_common_search_walks_the_list_and_agrees_with_the_rare_one(db: Db) {
    let (store, _svc, stripe, xero, _f) = setup(db).await;
    let t0 = Utc::now() - Duration::days(3);
    let mut rows = Vec::new();
    for i in 0..5_200 {
        let mut t = new_trigger(
            if i % 3 == 0 { xero } else { stripe },
            t0 + Duration::seconds(i),
        );
        t.payload = format!(r#"{{"tag":"Common-Word","n":"row-{i:05}"}}"#);
        if i % 10 == 0 {
            t.status = Status::Erroneous;
            t.next_attempt_at = None;
        }
        rows.push(t);
    }
    store.insert_triggers(rows.clone()).await.unwrap();
    let newest_first: Vec<&NewTrigger> = rows.iter().rev().collect();
    // Common: every row matches; the first page is the newest 500.
    let want: Vec<Uuid> = newest_first.iter().take(500).map(|t| t.id).collect();
    assert_eq!(all_ids(&store, &q("common-w")).await, want);
    // Common text with other filters: xero's erroneous ones (i % 30 == 0).
    let mut f = q("COMMON-WORD");
    f.plugin_ids = vec![xero];
    f.statuses = vec![Status::Erroneous];
    let want: Vec<Uuid> = newest_first
        .iter()
        .filter(|t| t.plugin_id == xero && t.status == Status::Erroneous)
        .map(|t| t.id)
        .collect();
    assert_eq!(want.len(), 174);
    assert_eq!(all_ids(&store, &f).await, want);
    // Rare: a handful of rows (row-0510x), through the index, same order.
    let want: Vec<Uuid> = newest_first
        .iter()
        .filter(|t| t.payload.contains("row-0510"))
        .map(|t| t.id)
        .collect();
    assert_eq!(want.len(), 10);
    assert_eq!(all_ids(&store, &q("ROW-0510")).await, want);
    // The list's first rows hold some matches but not a page (row-051xx: the newest
    // 100), or none at all (row-01xxx: 1,000 rows far down the list): the page is
    // still every match in order, up to its size.
    for (text, fragment, size) in [("row-051", "row-051", 100), ("Row-01", "row-01", 500)] {
        let want: Vec<Uuid> = newest_first
            .iter()
            .filter(|t| t.payload.contains(fragment))
            .take(500)
            .map(|t| t.id)
            .collect();
        assert_eq!(want.len(), size);
        assert_eq!(all_ids(&store, &q(text)).await, want, "q={text}");
    }
    // A page boundary inside the common walk: page 2 follows page 1 exactly.
    let page1 = store
        .reads()
        .list_triggers(&q("common"), None, 50)
        .await
        .unwrap();
    let last = page1.last().unwrap();
    let page2 = store
        .reads()
        .list_triggers(
            &q("common"),
            Some(Cursor {
                scheduled_at: last.scheduled_at,
                id: last.id,
            }),
            50,
        )
        .await
        .unwrap();
    let ids: Vec<Uuid> = page1.iter().chain(&page2).map(|t| t.id).collect();
    let want: Vec<Uuid> = newest_first.iter().take(100).map(|t| t.id).collect();
    assert_eq!(ids, want);
    let counted: u64 = store
        .reads()
        .count_by_status(&f)
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(counted, 174);
}

async fn an_idempotency_key_returns_the_first_trigger_and_tells_a_different_body(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let key = |hash: &str| {
        Some(Idempotency {
            key: "order-42".into(),
            request_hash: hash.into(),
        })
    };
    let mut first = new_trigger(stripe, Utc::now());
    first.idempotency = key("h1");
    let mut again = new_trigger(stripe, Utc::now());
    again.idempotency = key("h1");
    let mut other = new_trigger(stripe, Utc::now());
    other.idempotency = key("h2");
    assert_eq!(
        store.insert_trigger(first.clone()).await.unwrap(),
        Inserted::Created(first.id)
    );
    assert_eq!(
        store.insert_trigger(again).await.unwrap(),
        Inserted::Existing {
            id: first.id,
            same_request: true
        }
    );
    assert_eq!(
        store.insert_trigger(other).await.unwrap(),
        Inserted::Existing {
            id: first.id,
            same_request: false
        }
    );
    assert_eq!(
        all_ids(&store, &StoreFilter::default()).await,
        vec![first.id]
    );
}

fn outcome(
    trigger_id: Uuid,
    number: u32,
    status: Status,
    at: chrono::DateTime<Utc>,
) -> AttemptOutcome {
    let at = truncate(at);
    let ok = status == Status::Finished;
    let class = if ok {
        FailureClass::Success
    } else {
        FailureClass::Server
    };
    let code = if ok { 200 } else { 503 };
    AttemptOutcome {
        trigger_id,
        attempt: Attempt {
            id: Uuid::now_v7(),
            number,
            started_at: at,
            duration_ms: 180,
            started_by: StartedBy {
                kind: StartedByKind::Automatic,
                actor: None,
            },
            request: AttemptRequest {
                method: "POST".into(),
                url: "https://api.example.com/v1/invoices/INV-1".into(),
                headers: BTreeMap::from([("authorization".into(), "[redacted]".into())]),
                body: Some(r#"{"amount":1200}"#.into()),
            },
            response: Some(AttemptResponse {
                status: code,
                headers: BTreeMap::new(),
                body: Some(if ok { r#"{"id":"ext_1"}"# } else { "down" }.into()),
                body_encoding: None,
                truncated: false,
            }),
            class,
            decision: Decision {
                action: if ok {
                    DecisionAction::Finish
                } else {
                    DecisionAction::Retry
                },
                at: (!ok).then(|| at + Duration::seconds(60)),
                reason: if ok {
                    "finished: external id ext_1"
                } else {
                    "retry: 503"
                }
                .into(),
            },
        },
        status,
        next_attempt_at: (!ok).then(|| at + Duration::seconds(60)),
        finished_at: ok.then_some(at),
        external_id: ok.then(|| "ext_1".to_string()),
        last_error: (!ok).then(|| LastError {
            class,
            message: "503 server".into(),
            status_code: Some(503),
        }),
        logs: vec![LogEntry {
            at,
            step: if ok {
                LogStep::Finished
            } else {
                LogStep::RetryScheduled
            },
            message: format!("attempt {number}"),
        }],
        lease: None,
    }
}

async fn an_attempt_moves_the_trigger_and_the_detail_shows_attempts_and_logs_in_order(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let t = new_trigger(stripe, Utc::now() - Duration::minutes(10));
    store.insert_trigger(t.clone()).await.unwrap();
    let first_at = Utc::now() - Duration::minutes(5);
    store
        .record_attempt(outcome(t.id, 1, Status::Retrying, first_at))
        .await
        .unwrap();
    store
        .record_attempt(outcome(t.id, 2, Status::Finished, Utc::now()))
        .await
        .unwrap();
    let d = store
        .reads()
        .get_trigger_detail(t.id)
        .await
        .unwrap()
        .unwrap();
    let tr = &d.trigger.trigger;
    assert_eq!(tr.status, Status::Finished);
    assert_eq!(tr.attempts, 2);
    assert_eq!(
        tr.triggered_at,
        Some(truncate(first_at)),
        "triggered is the first execution"
    );
    assert_eq!(tr.external_id.as_deref(), Some("ext_1"));
    assert_eq!(tr.plugin, "stripe");
    assert_eq!(d.trigger.payload, serde_json::json!({"amount": 1200}));
    let numbers: Vec<u32> = d.attempts.iter().map(|a| a.number).collect();
    assert_eq!(numbers, [1, 2]);
    assert_eq!(d.attempts[0].response.as_ref().unwrap().status, 503);
    assert_eq!(d.attempts[0].decision.action, DecisionAction::Retry);
    let steps: Vec<&str> = d.logs.iter().map(|l| l.step.as_str()).collect();
    assert_eq!(steps, ["queued", "retry scheduled", "finished"]);
    assert!(store
        .reads()
        .get_trigger_detail(Uuid::now_v7())
        .await
        .unwrap()
        .is_none());
}

async fn a_reported_call_is_written_with_its_attempt_in_one_go(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let t = new_trigger(stripe, Utc::now());
    store
        .insert_reported_call(t.clone(), outcome(t.id, 1, Status::Finished, Utc::now()))
        .await
        .unwrap();
    let d = store
        .reads()
        .get_trigger_detail(t.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.trigger.trigger.status, Status::Finished);
    assert_eq!(d.attempts.len(), 1);

    // An attempt for a trigger that does not exist writes nothing at all.
    let ghost = new_trigger(Uuid::now_v7(), Utc::now());
    let err = store
        .insert_reported_call(
            ghost.clone(),
            outcome(ghost.id, 1, Status::Finished, Utc::now()),
        )
        .await;
    assert!(
        err.is_err(),
        "a trigger for an unknown plugin must be refused"
    );
    assert!(store
        .reads()
        .get_trigger_detail(ghost.id)
        .await
        .unwrap()
        .is_none());
}

async fn two_hundred_concurrent_inserts_all_succeed(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.insert_trigger(new_trigger(stripe, Utc::now())).await })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap();
        assert!(matches!(r, Ok(Inserted::Created(_))), "{r:?}");
    }
    assert_eq!(all_ids(&store, &StoreFilter::default()).await.len(), 200);
}

/// SQLite commits the writes that wait together in one transaction: a write
/// that fails half-way must take back only what it wrote itself.
async fn a_write_that_fails_among_concurrent_ones_fails_alone_and_leaves_nothing(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let mut tasks = Vec::new();
    for i in 0..120 {
        let store = store.clone();
        let t = new_trigger(stripe, Utc::now());
        tasks.push(tokio::spawn(async move {
            let id = t.id;
            let result = match i % 4 {
                // A reported call whose attempt is refused after its trigger was
                // written (a lease it never had): neither may stay.
                0 => {
                    let refused = AttemptOutcome {
                        lease: Some("a lease this trigger never had".into()),
                        ..outcome(id, 1, Status::Finished, Utc::now())
                    };
                    store.insert_reported_call(t, refused).await
                }
                1 => {
                    let call = outcome(id, 1, Status::Finished, Utc::now());
                    store.insert_reported_call(t, call).await
                }
                _ => store.insert_trigger(t).await.map(drop),
            };
            (i % 4 == 0, id, result)
        }));
    }
    let (mut refused, mut kept) = (Vec::new(), Vec::new());
    for task in tasks {
        let (bad, id, result) = task.await.unwrap();
        if bad {
            assert!(
                matches!(result, Err(StoreError::LeaseLost)),
                "the refused call says why: {result:?}"
            );
            refused.push(id);
        } else {
            result.unwrap();
            kept.push(id);
        }
    }
    for id in &refused {
        let detail = store.reads().get_trigger_detail(*id).await.unwrap();
        assert!(detail.is_none(), "a refused call left its trigger behind");
    }
    let listed: HashSet<Uuid> = all_ids(&store, &StoreFilter::default())
        .await
        .into_iter()
        .collect();
    assert_eq!(listed, kept.iter().copied().collect::<HashSet<_>>());
    let finished = StoreFilter {
        statuses: vec![Status::Finished],
        ..Default::default()
    };
    let (kept_totals, counted) = counts_both_ways(&store, finished).await;
    assert_eq!(kept_totals, counted, "the kept counts saw only what stayed");
    assert_eq!(
        kept_totals,
        vec![(Status::Finished, 30)],
        "the 30 reported calls that went well, each finished"
    );
}

/// Claims that share a transaction with writes that fail (on SQLite the writer
/// then runs the whole transaction again, each job apart) still hand out every
/// due trigger exactly once, under the lease of the claim that returned it.
async fn claims_beside_failing_writes_hand_out_each_due_trigger_once(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let due = Utc::now() - Duration::seconds(5);
    let waiting: Vec<NewTrigger> = (0..60).map(|_| new_trigger(stripe, due)).collect();
    let waiting_ids: HashSet<Uuid> = waiting.iter().map(|t| t.id).collect();
    store.insert_triggers(waiting).await.unwrap();
    let mut claims = Vec::new();
    let mut refusals = Vec::new();
    for _ in 0..20 {
        let (claimer, claim) = (store.clone(), claim_at(Utc::now(), 5));
        claims.push(tokio::spawn(async move {
            let claimed = claimer.claim_due_triggers(&claim).await.unwrap();
            (claim.lease, claimed)
        }));
        let store = store.clone();
        let t = new_trigger(stripe, Utc::now());
        refusals.push(tokio::spawn(async move {
            let refused = AttemptOutcome {
                lease: Some("a lease this trigger never had".into()),
                ..outcome(t.id, 1, Status::Finished, Utc::now())
            };
            store.insert_reported_call(t, refused).await
        }));
    }
    for r in refusals {
        let result = r.await.unwrap();
        assert!(matches!(result, Err(StoreError::LeaseLost)), "{result:?}");
    }
    let mut handed_out = Vec::new();
    for c in claims {
        let (lease, claimed) = c.await.unwrap();
        for t in claimed {
            assert_eq!(t.lease, lease, "a claim returns its own lease");
            assert_eq!(t.number, 1, "each trigger's first attempt, counted once");
            handed_out.push(t.id);
        }
    }
    let distinct: HashSet<Uuid> = handed_out.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        handed_out.len(),
        "no trigger was handed out twice"
    );
    assert_eq!(distinct, waiting_ids, "every due trigger was handed out");
    let running = StoreFilter {
        statuses: vec![Status::Running],
        ..Default::default()
    };
    let (kept, counted) = counts_both_ways(&store, running).await;
    assert_eq!(kept, counted);
    assert_eq!(
        kept,
        vec![(Status::Running, 60)],
        "all 60 are running, once each"
    );
}

async fn an_api_key_is_found_by_its_hash_only(db: Db) {
    let (store, svc, _stripe, _xero, _f) = setup(db).await;
    let key = svc
        .create_api_key("ci", calltrail::service::Role::Operator)
        .await
        .unwrap();
    let who = svc
        .authenticate(Some(&format!("Bearer {key}")))
        .await
        .unwrap();
    assert_eq!(who.name, "ci");
    assert_eq!(who.role, calltrail::service::Role::Operator);
    assert!(
        store.reads().find_api_key(&key).await.unwrap().is_none(),
        "the plain key is not stored"
    );
    assert!(svc.authenticate(Some("Bearer ct_wrong")).await.is_err());
}

fn claim_at(now: chrono::DateTime<Utc>, limit: u32) -> Claim {
    Claim {
        lease: Uuid::now_v7().to_string(),
        now: truncate(now),
        lease_until: truncate(now + Duration::seconds(30)),
        limit,
    }
}

async fn due_triggers_are_claimed_once_oldest_first_and_inactive_plugins_wait(db: Db) {
    let (store, _svc, stripe, xero, _f) = setup(db).await;
    let now = Utc::now();
    let old = new_trigger(stripe, now - Duration::minutes(10));
    let newer = new_trigger(stripe, now - Duration::minutes(5));
    let future = new_trigger(stripe, now + Duration::hours(1));
    let inactive = new_trigger(xero, now - Duration::hours(1));
    store
        .insert_triggers(vec![
            newer.clone(),
            old.clone(),
            future.clone(),
            inactive.clone(),
        ])
        .await
        .unwrap();
    let mut x = store
        .reads()
        .get_plugin(&PluginKey::Id(xero))
        .await
        .unwrap()
        .unwrap();
    x.plugin.active = false;
    store.writes().update_plugin(&x).await.unwrap();

    let first = store.claim_due_triggers(&claim_at(now, 1)).await.unwrap();
    assert_eq!(
        first.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![old.id],
        "oldest due first"
    );
    assert_eq!(first[0].payload, r#"{"amount":1200}"#);
    let second = store.claim_due_triggers(&claim_at(now, 10)).await.unwrap();
    assert_eq!(
        second.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![newer.id]
    );
    assert!(store
        .claim_due_triggers(&claim_at(now, 10))
        .await
        .unwrap()
        .is_empty());
    let d = store
        .reads()
        .get_trigger_detail(old.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.trigger.trigger.status, Status::Running);

    x.plugin.active = true;
    store.writes().update_plugin(&x).await.unwrap();
    let woke = store.claim_due_triggers(&claim_at(now, 10)).await.unwrap();
    assert_eq!(
        woke.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![inactive.id],
        "runs once activated"
    );
    assert_eq!(
        store.reads().next_due_at().await.unwrap(),
        Some(future.scheduled_at),
        "the next due time is the future trigger's"
    );
}

async fn an_expired_lease_is_claimed_again_and_the_stale_result_is_refused(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let now = Utc::now();
    let t = new_trigger(stripe, now - Duration::minutes(1));
    store.insert_trigger(t.clone()).await.unwrap();
    let first = store.claim_due_triggers(&claim_at(now, 10)).await.unwrap();
    assert_eq!(first.len(), 1);
    // The worker died: 31 seconds later its lease has expired.
    let later = now + Duration::seconds(31);
    let second = store
        .claim_due_triggers(&claim_at(later, 10))
        .await
        .unwrap();
    assert_eq!(second.len(), 1, "an expired lease is claimed again");
    assert_ne!(first[0].lease, second[0].lease);

    let mut fresh = outcome(t.id, 2, Status::Finished, later);
    fresh.lease = Some(second[0].lease.clone());
    store.record_attempt(fresh).await.unwrap();
    let mut stale = outcome(t.id, 1, Status::Retrying, later);
    // (attempt 1's worker wakes up late)
    stale.lease = Some(first[0].lease.clone());
    let err = store.record_attempt(stale).await.unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost), "{err}");
    let d = store
        .reads()
        .get_trigger_detail(t.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        d.trigger.trigger.status,
        Status::Finished,
        "the late result changed nothing"
    );
    assert_eq!(second[0].number, 2, "the lost claim counts as an attempt");
    let numbers: Vec<u32> = d.attempts.iter().map(|a| a.number).collect();
    assert_eq!(
        numbers,
        [1, 2],
        "the interrupted claim has its own attempt row"
    );
    assert!(d.attempts[0].decision.reason.starts_with("interrupted"));
}

async fn a_rerun_is_queued_with_its_audit_row_unless_an_attempt_is_in_flight(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let now = Utc::now();
    let t = new_trigger(stripe, now - Duration::minutes(1));
    store.insert_trigger(t.clone()).await.unwrap();
    let run = PendingRun {
        kind: app::domain::StartedByKind::Manual,
        actor: "ops".into(),
        reason: "token renewed".into(),
        resume_retries: true,
    };
    let audit = |id: Uuid| AuditEntry {
        id: Uuid::now_v7(),
        at: truncate(Utc::now()),
        actor: "ops".into(),
        action: "rerun".into(),
        target: id.to_string(),
        reason: "token renewed".into(),
        client: Some("127.0.0.1".into()),
        details: serde_json::json!({}),
    };
    let claimed = store.claim_due_triggers(&claim_at(now, 10)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        store
            .request_run(t.id, run.clone(), Some(audit(t.id)))
            .await
            .unwrap(),
        RunRequest::Running
    );
    store
        .record_attempt(AttemptOutcome {
            lease: Some(claimed[0].lease.clone()),
            ..outcome(t.id, 1, Status::Erroneous, now)
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .request_run(t.id, run.clone(), Some(audit(t.id)))
            .await
            .unwrap(),
        RunRequest::Queued
    );
    assert_eq!(
        store
            .request_run(Uuid::now_v7(), run.clone(), Some(audit(t.id)))
            .await
            .unwrap(),
        RunRequest::NotFound
    );
    // (Setting up audited the plugins' creation too.)
    let reruns = calltrail::storage::AuditFilter {
        action: Some("rerun".into()),
        ..Default::default()
    };
    let trail = store.reads().audit_page(&reruns, None, 10).await.unwrap();
    assert_eq!(trail.len(), 1, "only the queued rerun is audited");
    assert_eq!(
        (trail[0].action.as_str(), trail[0].reason.as_str()),
        ("rerun", "token renewed")
    );
    let again = store
        .claim_due_triggers(&claim_at(Utc::now(), 10))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0].run.as_ref(),
        Some(&run),
        "the claim carries who asked and why"
    );
    assert_eq!(again[0].number, 2, "the rerun is the second attempt");
}

async fn a_migration_counts_its_items_outcomes_and_a_cancel_is_final(db: Db) {
    let (store, _svc, stripe, xero, _f) = setup(db).await;
    let now = Utc::now();
    let a = new_trigger(stripe, now - Duration::minutes(3));
    let b = new_trigger(stripe, now - Duration::minutes(2));
    let c = new_trigger(xero, now - Duration::minutes(1));
    store
        .insert_triggers(vec![a.clone(), b.clone(), c.clone()])
        .await
        .unwrap();
    let f = StoreFilter {
        plugin_ids: vec![stripe],
        ..Default::default()
    };
    assert_eq!(store.reads().count_triggers(&f).await.unwrap(), 2);
    assert_eq!(
        store
            .reads()
            .count_triggers(&StoreFilter::default())
            .await
            .unwrap(),
        3
    );

    let m = migration_record("rerun", now);
    let total = store
        .begin_migration(&m, audit_of(&m, now), Some(&f))
        .await
        .unwrap();
    assert_eq!(
        total, 2,
        "the set is what the filter matches when it starts"
    );
    // A trigger that starts matching later is not in the set.
    store
        .insert_triggers(vec![new_trigger(stripe, now)])
        .await
        .unwrap();
    let set = store.reads().migration_set(m.id, None, 10).await.unwrap();
    assert_eq!(set, vec![(0, b.id), (1, a.id)], "newest first, numbered");
    assert_eq!(
        store
            .reads()
            .migration_set(m.id, Some(0), 10)
            .await
            .unwrap()
            .len(),
        1
    );

    let until = truncate(now + Duration::minutes(1));
    assert!(store
        .writes()
        .claim_migration(m.id, "me", until)
        .await
        .unwrap());
    assert!(
        !store
            .writes()
            .claim_migration(m.id, "other", until)
            .await
            .unwrap(),
        "a held lease is not taken"
    );
    for (position, trigger_id) in &set {
        let step = rerun_step(m.id, "me", *position, *trigger_id);
        assert_eq!(store.migration_step(step).await.unwrap(), StepOutcome::Done);
    }
    let again = rerun_step(m.id, "me", 0, b.id);
    assert_eq!(
        store.migration_step(again).await.unwrap(),
        StepOutcome::AlreadyDone,
        "a position is done once"
    );
    let theirs = rerun_step(m.id, "other", 1, a.id);
    assert_eq!(
        store.migration_step(theirs).await.unwrap(),
        StepOutcome::Stopped,
        "only the lease holder steps"
    );
    assert_eq!(
        store
            .reads()
            .migration_done_positions(m.id)
            .await
            .unwrap()
            .len(),
        2
    );
    store
        .record_attempt(outcome(a.id, 1, Status::Finished, now))
        .await
        .unwrap();
    let got = store.reads().get_migration(m.id).await.unwrap().unwrap();
    assert_eq!(
        (got.total, got.done, got.succeeded, got.failed),
        (2, 2, 1, 0)
    );
    assert!(store
        .writes()
        .cancel_migration(m.id, truncate(now))
        .await
        .unwrap());
    assert!(!store
        .writes()
        .cancel_migration(m.id, truncate(now))
        .await
        .unwrap());
    let after_cancel = rerun_step(m.id, "me", 1, a.id);
    assert_eq!(
        store.migration_step(after_cancel).await.unwrap(),
        StepOutcome::Stopped
    );
    assert!(!store.writes().complete_migration(m.id, "me").await.unwrap());
    let got = store.reads().get_migration(m.id).await.unwrap().unwrap();
    assert_eq!(
        got.status, "cancelled",
        "completion does not override a cancel"
    );
}

async fn a_migration_lease_is_taken_once_it_expires_or_is_given_up(db: Db) {
    let (store, _svc, _stripe, _xero, _f) = setup(db).await;
    let now = Utc::now();
    let m = migration_record("create", now);
    store.insert_migration(&m, audit_of(&m, now)).await.unwrap();
    let soon = truncate(now + Duration::minutes(1));
    assert!(store
        .writes()
        .claim_migration(m.id, "a", soon)
        .await
        .unwrap());
    assert!(!store
        .writes()
        .claim_migration(m.id, "b", soon)
        .await
        .unwrap());
    assert!(
        store
            .writes()
            .claim_migration(m.id, "a", soon)
            .await
            .unwrap(),
        "its owner takes it back"
    );
    store.writes().release_migration(m.id, "b").await.unwrap();
    assert!(
        !store
            .writes()
            .claim_migration(m.id, "b", soon)
            .await
            .unwrap(),
        "only the owner gives it up"
    );
    store.writes().release_migration(m.id, "a").await.unwrap();
    assert!(store
        .writes()
        .claim_migration(m.id, "b", soon)
        .await
        .unwrap());
    // b dies; once its lease has expired, a takes over.
    assert!(store
        .writes()
        .claim_migration(m.id, "b", truncate(now - Duration::seconds(1)))
        .await
        .unwrap());
    assert!(store
        .writes()
        .claim_migration(m.id, "a", soon)
        .await
        .unwrap());
    assert!(store.writes().complete_migration(m.id, "a").await.unwrap());
    assert!(
        !store
            .writes()
            .claim_migration(m.id, "b", soon)
            .await
            .unwrap(),
        "an ended migration is not taken"
    );
    assert!(store.reads().running_migrations().await.unwrap().is_empty());
}

async fn a_created_item_is_one_trigger_even_when_its_record_was_lost(db: Db) {
    let (store, _svc, stripe, _xero, fresh) = setup(db).await;
    let now = Utc::now();
    let m = migration_record("create", now);
    store.insert_migration(&m, audit_of(&m, now)).await.unwrap();
    let until = truncate(now + Duration::minutes(1));
    assert!(store
        .writes()
        .claim_migration(m.id, "me", until)
        .await
        .unwrap());
    let create = |position: u64| {
        let mut t = new_trigger(stripe, now);
        t.idempotency = Some(Idempotency {
            key: format!("migration:{}:{position}", m.id),
            request_hash: "h".into(),
        });
        MigrationStep {
            migration_id: m.id,
            owner: "me".into(),
            lease_until: until,
            position,
            work: MigrationWork::Create(Box::new(t)),
        }
    };
    assert_eq!(
        store.migration_step(create(0)).await.unwrap(),
        StepOutcome::Done
    );
    assert_eq!(
        store.migration_step(create(1)).await.unwrap(),
        StepOutcome::Done
    );
    // As if the process had died after creating item 1 but before recording it.
    common::exec_sql(
        &fresh.url,
        "DELETE FROM trigger_migration_items WHERE position = 1",
    )
    .await;
    common::exec_sql(&fresh.url, "UPDATE trigger_migrations SET done = 1").await;
    assert!(store
        .writes()
        .claim_migration(m.id, "me", until)
        .await
        .unwrap());
    assert_eq!(migration_done(&store, m.id).await, 1);
    assert_eq!(
        store.migration_step(create(1)).await.unwrap(),
        StepOutcome::Done
    );
    let triggers = store
        .reads()
        .list_triggers(&StoreFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(triggers.len(), 2, "item 1 was not created twice");
    assert_eq!(migration_done(&store, m.id).await, 2);
}

fn migration_record(kind: &str, now: chrono::DateTime<Utc>) -> MigrationRecord {
    MigrationRecord {
        id: Uuid::now_v7(),
        created_at: truncate(now),
        actor: "admin".into(),
        reason: "token renewed".into(),
        kind: kind.into(),
        spec: serde_json::json!({"plugin": ["stripe"]}),
        status: "running".into(),
        total: 2,
        done: 0,
        finished_at: None,
        succeeded: 0,
        failed: 0,
    }
}

fn audit_of(m: &MigrationRecord, now: chrono::DateTime<Utc>) -> AuditEntry {
    AuditEntry {
        id: Uuid::now_v7(),
        at: truncate(now),
        actor: "admin".into(),
        action: format!("migration.{}", m.kind),
        target: format!("migration:{}", m.id),
        reason: "token renewed".into(),
        client: Some("127.0.0.1".into()),
        details: serde_json::json!({}),
    }
}

fn rerun_step(migration_id: Uuid, owner: &str, position: u64, trigger_id: Uuid) -> MigrationStep {
    MigrationStep {
        migration_id,
        owner: owner.into(),
        lease_until: truncate(Utc::now() + Duration::minutes(1)),
        position,
        work: MigrationWork::Rerun {
            trigger_id,
            run: PendingRun {
                kind: StartedByKind::Migration,
                actor: "admin (migration)".into(),
                reason: "token renewed".into(),
                resume_retries: false,
            },
        },
    }
}

fn ids(claimed: &[calltrail::storage::ClaimedTrigger]) -> HashSet<Uuid> {
    claimed.iter().map(|c| c.id).collect()
}

async fn set_max_attempts(store: &SharedStore, plugin: Uuid, max: u32, active: bool) {
    let mut p = store
        .reads()
        .get_plugin(&PluginKey::Id(plugin))
        .await
        .unwrap()
        .unwrap();
    p.plugin.retry_policy.max_attempts = max;
    p.plugin.active = active;
    store.writes().update_plugin(&p).await.unwrap();
}

async fn a_claim_takes_at_most_its_limit_of_due_triggers_and_expired_leases_together(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let n: u32 = 3;
    let now = Utc::now();
    let first: Vec<NewTrigger> = (0..n)
        .map(|i| new_trigger(stripe, now - Duration::minutes(20 - i64::from(i))))
        .collect();
    store.insert_triggers(first.clone()).await.unwrap();
    let hung = store.claim_due_triggers(&claim_at(now, n)).await.unwrap();
    assert_eq!(hung.len(), n as usize);
    let due: Vec<NewTrigger> = (0..n)
        .map(|i| new_trigger(stripe, now - Duration::minutes(10 - i64::from(i))))
        .collect();
    store.insert_triggers(due.clone()).await.unwrap();

    // The first claims' worker died: their leases expired while n more fell due.
    let later = now + Duration::seconds(31);
    let claimed = store.claim_due_triggers(&claim_at(later, n)).await.unwrap();
    assert_eq!(
        claimed.len(),
        n as usize,
        "{n} free slots take {n} triggers, not {n} due plus {n} expired"
    );
    let rest = store
        .claim_due_triggers(&claim_at(later, 10 * n))
        .await
        .unwrap();
    assert_eq!(rest.len(), n as usize, "the others wait for the next claim");
    let all: HashSet<Uuid> = first.iter().chain(&due).map(|t| t.id).collect();
    assert_eq!(
        &ids(&claimed) | &ids(&rest),
        all,
        "each trigger exactly once"
    );
    for t in &first {
        let d = store
            .reads()
            .get_trigger_detail(t.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.attempts.len(), 1, "the interrupted claim has its row");
        assert!(d.attempts[0].decision.reason.starts_with("interrupted"));
        assert_eq!(
            d.trigger.trigger.attempts, 2,
            "and the new claim is attempt 2"
        );
    }
}

async fn an_expired_lease_whose_retries_are_spent_ends_erroneous_with_the_interrupted_attempt(
    db: Db,
) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    set_max_attempts(&store, stripe, 2, true).await;
    let now = Utc::now();
    let t = new_trigger(stripe, now - Duration::minutes(1));
    store.insert_trigger(t.clone()).await.unwrap();
    // Two claims, each lost with its worker.
    let mut at = now;
    for number in 1..=2 {
        let claimed = store.claim_due_triggers(&claim_at(at, 10)).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].number, number);
        at += Duration::seconds(31);
    }
    let none = store.claim_due_triggers(&claim_at(at, 10)).await.unwrap();
    assert!(
        none.is_empty(),
        "the last allowed attempt is not made again"
    );

    let d = store
        .reads()
        .get_trigger_detail(t.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.trigger.trigger.status, Status::Erroneous);
    assert!(d.trigger.trigger.finished_at.is_some());
    let numbers: Vec<u32> = d.attempts.iter().map(|a| a.number).collect();
    assert_eq!(numbers, [1, 2], "both interrupted calls are in the history");
    let last = &d.attempts[1].decision;
    assert_eq!(last.action, DecisionAction::Stop);
    assert!(
        last.reason.contains("retries exhausted (attempt 2 of 2)"),
        "{}",
        last.reason
    );
    let steps: Vec<&str> = d.logs.iter().map(|l| l.step.as_str()).collect();
    assert_eq!(
        steps,
        [
            "queued",
            "interrupted",
            "retry scheduled",
            "interrupted",
            "failed"
        ]
    );
    assert!(store
        .claim_due_triggers(&claim_at(at + Duration::hours(1), 10))
        .await
        .unwrap()
        .is_empty());
}

async fn an_expired_lease_of_an_inactive_plugin_waits_until_the_plugin_is_active(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let now = Utc::now();
    let t = new_trigger(stripe, now - Duration::minutes(1));
    store.insert_trigger(t.clone()).await.unwrap();
    assert_eq!(
        store
            .claim_due_triggers(&claim_at(now, 10))
            .await
            .unwrap()
            .len(),
        1
    );
    set_max_attempts(&store, stripe, 7, false).await;
    let later = now + Duration::seconds(31);
    assert!(
        store
            .claim_due_triggers(&claim_at(later, 10))
            .await
            .unwrap()
            .is_empty(),
        "an inactive plugin's trigger is not called, even after its lease expired"
    );
    let d = store
        .reads()
        .get_trigger_detail(t.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        d.trigger.trigger.status,
        Status::Retrying,
        "it waits in the queue"
    );
    set_max_attempts(&store, stripe, 7, true).await;
    let woke = store
        .claim_due_triggers(&claim_at(later, 10))
        .await
        .unwrap();
    assert_eq!(ids(&woke), HashSet::from([t.id]), "runs once activated");
    assert_eq!(woke[0].number, 2);
}

async fn a_released_claim_is_due_again_uncounted_unless_its_lease_was_lost(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let now = Utc::now();
    let t = new_trigger(stripe, now - Duration::minutes(1));
    store.insert_trigger(t.clone()).await.unwrap();
    let claimed = store.claim_due_triggers(&claim_at(now, 10)).await.unwrap();
    assert_eq!(
        claimed[0].lease_until,
        truncate(now + Duration::seconds(30))
    );
    assert!(store
        .writes()
        .release_claim(t.id, &claimed[0].lease, truncate(now))
        .await
        .unwrap());
    let d = store
        .reads()
        .get_trigger_detail(t.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.trigger.trigger.status, Status::NotYetStarted);
    assert_eq!(
        d.trigger.trigger.attempts, 0,
        "nothing was sent, nothing counts"
    );
    assert!(d.attempts.is_empty());

    let again = store.claim_due_triggers(&claim_at(now, 10)).await.unwrap();
    assert_eq!(again[0].number, 1, "the next claim is still attempt 1");
    assert!(
        !store
            .writes()
            .release_claim(t.id, &claimed[0].lease, truncate(now))
            .await
            .unwrap(),
        "a stale lease releases nothing"
    );
    let d = store
        .reads()
        .get_trigger_detail(t.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.trigger.trigger.status, Status::Running);
}

/// The executor records its outcomes as one batch: every trigger whose lease still
/// holds moves, with its attempt, its logs and any gap of interrupted attempts; one
/// whose lease was lost is told so and keeps nothing of that attempt.
async fn a_batch_of_outcomes_moves_each_trigger_whose_lease_holds_and_no_other(db: Db) {
    let (store, _svc, stripe, _xero, _f) = setup(db).await;
    let now = Utc::now();
    let triggers: Vec<NewTrigger> = (0..4)
        .map(|i| new_trigger(stripe, now - Duration::minutes(10 - i)))
        .collect();
    store.insert_triggers(triggers.clone()).await.unwrap();
    let claimed = store.claim_due_triggers(&claim_at(now, 10)).await.unwrap();
    assert_eq!(claimed.len(), 4);
    let lease = claimed[0].lease.clone();
    let at = now + Duration::seconds(1);
    let with_lease = |mut o: AttemptOutcome, l: &str| {
        o.lease = Some(l.to_string());
        o
    };
    let batch = vec![
        with_lease(outcome(triggers[0].id, 1, Status::Finished, at), &lease),
        with_lease(outcome(triggers[1].id, 1, Status::Retrying, at), "lost"),
        with_lease(outcome(triggers[2].id, 1, Status::Retrying, at), &lease),
        // Its worker claimed attempt 3; attempts 1 and 2 were never recorded.
        with_lease(outcome(triggers[3].id, 3, Status::Finished, at), &lease),
    ];
    let results = store.record_attempts(batch).await.unwrap();
    let told: Vec<&str> = results
        .iter()
        .map(|r| match r {
            Ok(()) => "recorded",
            Err(StoreError::LeaseLost) => "lease lost",
            Err(_) => "failed",
        })
        .collect();
    assert_eq!(told, ["recorded", "lease lost", "recorded", "recorded"]);

    let detail = |id: Uuid| {
        let store = store.clone();
        async move { store.reads().get_trigger_detail(id).await.unwrap().unwrap() }
    };
    let done = detail(triggers[0].id).await;
    assert_eq!(done.trigger.trigger.status, Status::Finished);
    assert_eq!(done.trigger.trigger.external_id.as_deref(), Some("ext_1"));
    assert_eq!(done.trigger.trigger.triggered_at, Some(truncate(at)));
    assert_eq!(done.attempts.len(), 1);
    let steps: Vec<&str> = done.logs.iter().map(|l| l.step.as_str()).collect();
    assert_eq!(steps, ["queued", "finished"]);

    let kept = detail(triggers[1].id).await;
    assert_eq!(
        kept.trigger.trigger.status,
        Status::Running,
        "lease lost: untouched"
    );
    assert!(kept.attempts.is_empty());
    assert_eq!(kept.logs.len(), 1);

    let retrying = detail(triggers[2].id).await;
    assert_eq!(retrying.trigger.trigger.status, Status::Retrying);
    assert_eq!(
        retrying
            .trigger
            .trigger
            .last_error
            .as_ref()
            .map(|e| e.status_code),
        Some(Some(503))
    );
    assert_eq!(
        retrying.trigger.trigger.next_attempt_at,
        Some(truncate(at) + Duration::seconds(60))
    );

    let gap = detail(triggers[3].id).await;
    let numbers: Vec<u32> = gap.attempts.iter().map(|a| a.number).collect();
    assert_eq!(numbers, [1, 2, 3], "the interrupted attempts are filled in");
    assert_eq!(gap.attempts[0].class, FailureClass::Network);
    assert_eq!(gap.trigger.trigger.status, Status::Finished);
    assert_eq!(gap.trigger.trigger.attempts, 3);

    // Two outcomes of one trigger cannot both be told apart: the batch is refused
    // whole (the executor then records each alone), and writes nothing.
    let again = |status| with_lease(outcome(triggers[1].id, 1, status, at), "lost");
    let twice = vec![again(Status::Finished), again(Status::Retrying)];
    assert!(store.record_attempts(twice).await.is_err());
    assert!(detail(triggers[1].id).await.attempts.is_empty());
}

/// How many items of a migration are done, as stored.
async fn migration_done(store: &SharedStore, id: Uuid) -> u64 {
    store.reads().get_migration(id).await.unwrap().unwrap().done
}

/// The counts per status for `f`, from the kept totals (a filter of plugins and
/// statuses only), and the same counted trigger by trigger (a time window that
/// holds every trigger takes the other path). Both are sorted by status.
async fn counts_both_ways(
    store: &SharedStore,
    f: StoreFilter,
) -> (Vec<(Status, u64)>, Vec<(Status, u64)>) {
    let walked = StoreFilter {
        scheduled_from: Some(Utc::now() - Duration::days(365)),
        ..f.clone()
    };
    let mut kept = store.reads().count_by_status(&f).await.unwrap();
    let mut counted = store.reads().count_by_status(&walked).await.unwrap();
    kept.sort_by_key(|(s, _)| s.as_str());
    counted.sort_by_key(|(s, _)| s.as_str());
    assert_eq!(
        store.reads().count_triggers(&f).await.unwrap(),
        store.reads().count_triggers(&walked).await.unwrap(),
        "the total for {f:?}"
    );
    (kept, counted)
}

/// After `phase`: the kept counts equal the triggers, for everything, each plugin
/// and a status, before and after PostgreSQL folds its rows of differences.
async fn assert_counts_agree(store: &SharedStore, phase: &str, plugins: [Uuid; 2]) {
    for fold in [false, true] {
        if fold {
            store.fold_counts().await.unwrap();
        }
        let filters = [
            StoreFilter::default(),
            StoreFilter {
                plugin_ids: vec![plugins[0]],
                ..Default::default()
            },
            StoreFilter {
                visible_plugin_ids: Some(vec![plugins[1]]),
                ..Default::default()
            },
            StoreFilter {
                statuses: vec![Status::Running, Status::Finished],
                ..Default::default()
            },
        ];
        for f in filters {
            let (kept, counted) = counts_both_ways(store, f.clone()).await;
            assert_eq!(kept, counted, "{phase} (folded: {fold}): {f:?}");
        }
    }
}

async fn the_kept_counts_agree_with_the_triggers_through_every_kind_of_write(db: Db) {
    let (store, _svc, stripe, xero, _f) = setup(db).await;
    let plugins = [stripe, xero];
    let now = Utc::now();
    let batch: Vec<NewTrigger> = (0..8)
        .map(|i| {
            new_trigger(
                if i < 5 { stripe } else { xero },
                now - Duration::minutes(20 - i),
            )
        })
        .collect();
    store.insert_triggers(batch.clone()).await.unwrap();
    let keyed = |body: &str| NewTrigger {
        idempotency: Some(Idempotency {
            key: "order-7".into(),
            request_hash: body.into(),
        }),
        ..new_trigger(xero, now - Duration::minutes(30))
    };
    store.insert_trigger(keyed("h")).await.unwrap();
    // The same key again is the first trigger, not a second one to count.
    store.insert_trigger(keyed("h")).await.unwrap();
    let reported = new_trigger(stripe, now - Duration::minutes(2));
    store
        .insert_reported_call(
            NewTrigger {
                status: Status::Finished,
                next_attempt_at: None,
                ..reported.clone()
            },
            outcome(reported.id, 1, Status::Finished, now - Duration::minutes(2)),
        )
        .await
        .unwrap();
    let counts = store
        .reads()
        .count_by_status(&StoreFilter::default())
        .await
        .unwrap();
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 10, "eight, one keyed, one reported: {counts:?}");
    assert_counts_agree(&store, "inserted", plugins).await;

    let claimed = store.claim_due_triggers(&claim_at(now, 4)).await.unwrap();
    assert_eq!(claimed.len(), 4);
    assert_counts_agree(&store, "claimed", plugins).await;

    let at = now + Duration::seconds(1);
    let lease = claimed[0].lease.clone();
    let statuses = [
        Status::Finished,
        Status::Retrying,
        Status::Erroneous,
        Status::Finished,
    ];
    let outcomes = claimed
        .iter()
        .zip(statuses)
        .map(|(c, status)| AttemptOutcome {
            lease: Some(lease.clone()),
            ..outcome(c.id, 1, status, at)
        })
        .collect();
    store.record_attempts(outcomes).await.unwrap();
    assert_counts_agree(&store, "delivered", plugins).await;

    let run = PendingRun {
        kind: app::domain::StartedByKind::Manual,
        actor: "ops".into(),
        reason: "fixed the token".into(),
        resume_retries: false,
    };
    let erroneous = claimed[2].id;
    assert_eq!(
        store.request_run(erroneous, run, None).await.unwrap(),
        RunRequest::Queued
    );
    assert_counts_agree(&store, "re-run", plugins).await;

    let finished: Vec<Uuid> = [claimed[0].id, claimed[3].id, reported.id].into();
    assert_eq!(store.delete_triggers(&finished).await.unwrap(), 3);
    assert_counts_agree(&store, "deleted", plugins).await;
    let total: u64 = store
        .reads()
        .count_by_status(&StoreFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(total, 7);
}

/// What the writer commits reaches the database file itself soon after, not only
/// its write-ahead log: the checkpointer copies it back in the background (a copy
/// of the file alone, as a careless backup would take, holds the triggers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_commits_reach_the_database_file_soon_without_waiting_for_a_full_log() {
    let (store, fresh) = common::store(Db::Sqlite).await;
    let service = Service::new(store.clone(), SecretBox::random(), Limits::default());
    let stripe = common::plugin_via_service(&service, "stripe").await.id;
    for _ in 0..50 {
        store
            .insert_trigger(new_trigger(stripe, Utc::now()))
            .await
            .unwrap();
    }
    let path = fresh
        .url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let copies = tempfile::tempdir().unwrap();
    let copy = copies.path().join("copy.db");
    common::wait_until(
        std::time::Duration::from_secs(10),
        "the 50 triggers in the database file without its WAL",
        || {
            let (path, copy) = (path.clone(), copy.clone());
            async move {
                std::fs::copy(&path, &copy).unwrap();
                let _ = std::fs::remove_file(copy.with_extension("db-wal"));
                let _ = std::fs::remove_file(copy.with_extension("db-shm"));
                let url = format!("sqlite://{}", copy.display());
                use sqlx::Connection;
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                let n: i64 = sqlx::query_scalar("SELECT count(*) FROM triggers")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap_or(0);
                n == 50
            }
        },
    )
    .await;
}
