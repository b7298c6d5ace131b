//! Attempts over the last 24 hours (hour by hour) or 7 days (day by day), by
//! outcome, for the log's filters: a small SVG the app draws itself.
//!
//! It is loaded in the browser only (its periods are cut at the reader's clock,
//! which the server does not know); the server renders its frame.

use leptos::prelude::*;

use super::live::Loaded;
use super::time_zone::{local_format, utc_offset_now};
use crate::browser::now;
use crate::domain::{ActivityBucket, ActivityWindow, ErrorBody, Outcome, TriggerActivity};
use crate::server_fns::attempt_activity;

const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 80.0;

/// The chart for the list as it was last loaded (`loaded`); when the list
/// failed, the chart says why too rather than asking with a refused filter.
#[component]
pub fn ActivityChart(
    #[prop(into)] loaded: Signal<Option<Result<Loaded, ErrorBody>>>,
    /// Changes when the chart should ask again (the live polls).
    #[prop(into)]
    refresh: Signal<u32>,
) -> impl IntoView {
    let window = RwSignal::new(ActivityWindow::Day);
    let data = RwSignal::new(None::<Result<TriggerActivity, ErrorBody>>);
    let asked = StoredValue::new(0u64);
    // An effect, so it runs in the browser only; the newest question wins.
    Effect::new(move |_| {
        let w = window.get();
        refresh.track();
        asked.update_value(|n| *n += 1);
        let f = match loaded.get() {
            None => return,
            Some(Err(e)) => return data.set(Some(Err(e))),
            Some(Ok(l)) => l.filter,
        };
        let this = asked.get_value();
        leptos::task::spawn_local(async move {
            let answer = attempt_activity(f, w, utc_offset_now(now())).await;
            if asked.get_value() == this {
                data.set(Some(answer));
            }
        });
    });
    let choose = move |w: ActivityWindow| {
        view! {
            <button
                type="button"
                aria-pressed=move || (window.get() == w).to_string()
                data-testid=format!("activity-{}", w.as_str())
                on:click=move |_| window.set(w)
            >
                {w.label()}
            </button>
        }
    };
    view! {
        <section class="activity" aria-labelledby="activity-title" data-testid="activity">
            <div class="activity-head">
                <h2 id="activity-title">"Attempts"</h2>
                <div class="toggle" role="group" aria-label="Period">
                    {ActivityWindow::ALL.iter().copied().map(choose).collect_view()}
                </div>
            </div>
            {move || match data.get() {
                None => view! { <p class="muted chart-loading">"Loading activity…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Some(Ok(a)) => view! { <Bars activity=a/> }.into_any(),
            }}
            <ul class="legend">
                {Outcome::ALL
                    .iter()
                    .map(|o| view! { <li><span class=format!("swatch out-{}", o.as_str()) aria-hidden="true"></span>{o.label()}</li> })
                    .collect_view()}
            </ul>
        </section>
    }
}

/// The bars, stacked by outcome, each with its numbers on hover, and the period
/// they cover under them.
#[component]
fn Bars(activity: TriggerActivity) -> impl IntoView {
    let window = activity.window;
    let buckets = activity.buckets;
    let tallest = buckets
        .iter()
        .map(ActivityBucket::total)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = WIDTH / buckets.len().max(1) as f64;
    let totals = buckets.iter().fold([0u64; 3], |mut sum, b| {
        for (s, n) in sum.iter_mut().zip(b.by_outcome()) {
            *s += n;
        }
        sum
    });
    let summary = format!(
        "Attempts per {} over the last {}: {}",
        if window == ActivityWindow::Day {
            "hour"
        } else {
            "day"
        },
        if window == ActivityWindow::Day {
            "24 hours"
        } else {
            "7 days"
        },
        outcome_words(totals)
    );
    let first = buckets
        .first()
        .map(|b| period_label(window, b))
        .unwrap_or_default();
    let bars = buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let x = i as f64 * slot + 1.0;
            let mut y = HEIGHT;
            let rects = Outcome::ALL
                .iter()
                .zip(b.by_outcome())
                .filter(|(_, n)| *n > 0)
                .map(|(o, n)| {
                    let h = HEIGHT * n as f64 / tallest;
                    y -= h;
                    view! {
                        <rect class=format!("out-{}", o.as_str()) x=x y=y width=slot - 2.0 height=h></rect>
                    }
                })
                .collect_view();
            let title = format!("{}: {}", period_label(window, b), outcome_words(b.by_outcome()));
            view! {
                <g class="bar" data-total=b.total()>
                    <title>{title}</title>
                    // Hovering anywhere in the slot shows its numbers.
                    <rect class="hit" x=x - 1.0 y="0" width=slot height=HEIGHT></rect>
                    {rects}
                </g>
            }
        })
        .collect_view();
    view! {
        <svg
            class="chart"
            viewBox=format!("0 0 {WIDTH} {HEIGHT}")
            preserveAspectRatio="none"
            role="img"
            aria-label=summary
            data-testid="activity-chart"
        >
            <line class="axis" x1="0" y1=HEIGHT x2=WIDTH y2=HEIGHT></line>
            {bars}
        </svg>
        <p class="chart-axis" aria-hidden="true">
            <span>{first}</span>
            <span>"now"</span>
        </p>
    }
}

/// "4 succeeded, 1 failed (retryable), 0 failed".
fn outcome_words([ok, transient, failed]: [u64; 3]) -> String {
    format!("{ok} succeeded, {transient} failed and retried, {failed} failed")
}

/// The period a bar covers, on the reader's clock: "Sat 09:00" or "Sat 21 Nov".
fn period_label(window: ActivityWindow, b: &ActivityBucket) -> String {
    match window {
        ActivityWindow::Day => local_format(b.start, "%a %H:%M"),
        ActivityWindow::Week => local_format(b.start, "%a %-d %b"),
    }
}
