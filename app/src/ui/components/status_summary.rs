use chrono::{DateTime, Utc};
use leptos::prelude::*;

use super::address::use_address;
use super::live::{matching, Live};
use super::LocalTime;
use crate::domain::{Status, TriggerCount};

/// How many triggers the filters match, and how many of each status, as chips
/// that filter by their status when clicked, above a bar of the same counts.
/// The counts are for every filter but the status one (so each chip says what
/// choosing it would show); they follow the live polls.
///
/// `latest` is when the first row on the first page is scheduled: how fresh the
/// log is, in words ("4 min ago").
#[component]
pub fn StatusSummary(
    loaded: TriggerCount,
    live: Live,
    statuses: Vec<Status>,
    latest: Option<DateTime<Utc>>,
) -> impl IntoView {
    let address = use_address();
    let counts = Memo::new(move |_| live.counts.get().unwrap_or_else(|| loaded.clone()));
    let statuses = StoredValue::new(statuses);
    let total = move || statuses.with_value(|s| matching(&counts.read(), s));
    let n_of = move |s: Status| {
        counts
            .read()
            .by_status
            .get(s.as_str())
            .copied()
            .unwrap_or(0)
    };
    let choose = move |s: Status| {
        let only_this = statuses.with_value(|chosen| chosen == &[s]);
        address.set_filter(|p| {
            let values = (!only_this).then(|| s.as_str().to_string());
            p.set_all("status", values);
        });
    };
    view! {
        <div class="status-summary">
            <div class="counts-line">
                <p class="match-count" data-testid="match-count">
                    <strong>{total}</strong>
                    {move || if total() == 1 { " trigger matches" } else { " triggers match" }}
                </p>
                {latest.map(|at| view! {
                    <p class="latest" data-testid="latest">"latest scheduled " <LocalTime at relative=true/></p>
                })}
            </div>
            <div class="status-chips" role="group" aria-label="Show one status">
                {Status::ALL
                    .iter()
                    .map(|&s| {
                        let pressed = move || statuses.with_value(|c| c.contains(&s)).to_string();
                        view! {
                            <button
                                type="button"
                                class=format!("chip chip-{}", s.as_str())
                                data-testid=format!("chip-{}", s.as_str())
                                aria-pressed=pressed
                                on:click=move |_| choose(s)
                            >
                                <span class="dot" aria-hidden="true"></span>
                                {s.label()}
                                " "
                                <span class="n">{move || n_of(s)}</span>
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            <StatusBar counts/>
        </div>
    }
}

/// The counts per status as one bar, each status a share of it.
#[component]
fn StatusBar(counts: Memo<TriggerCount>) -> impl IntoView {
    const WIDTH: f64 = 300.0;
    let label = move || {
        let c = counts.read();
        let parts: Vec<String> = Status::ALL
            .iter()
            .filter_map(|s| {
                let n = c.by_status.get(s.as_str()).copied().unwrap_or(0);
                (n > 0).then(|| format!("{n} {}", s.label().to_lowercase()))
            })
            .collect();
        if parts.is_empty() {
            "No triggers".to_string()
        } else {
            format!("Triggers by status: {}", parts.join(", "))
        }
    };
    let segments = move || {
        let c = counts.get();
        let total = c.count.max(1) as f64;
        let mut x = 0.0;
        Status::ALL
            .iter()
            .filter_map(|s| {
                let n = c.by_status.get(s.as_str()).copied().unwrap_or(0);
                if n == 0 {
                    return None;
                }
                let w = WIDTH * n as f64 / total;
                let at = x;
                x += w;
                Some(view! {
                    <rect class=format!("seg seg-{}", s.as_str()) x=at y="0" width=w height="8">
                        <title>{format!("{}: {n}", s.label())}</title>
                    </rect>
                })
            })
            .collect_view()
    };
    view! {
        <svg
            class="status-bar"
            data-testid="status-bar"
            viewBox=format!("0 0 {WIDTH} 8")
            preserveAspectRatio="none"
            role="img"
            aria-label=label
        >
            <rect class="seg-empty" x="0" y="0" width=WIDTH height="8"></rect>
            {segments}
        </svg>
    }
}
