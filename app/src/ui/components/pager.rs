use leptos::prelude::*;

use super::address::use_address;
use crate::domain::DEFAULT_PAGE_SIZE;

/// The pages the reader has walked through, newest first, by their cursors
/// (`None` is the first page): where "Newer" goes back to. The address holds
/// only the current cursor (a cursor leads to older triggers only), so the
/// trail lives as long as the page; after a reload "Newest" is the way back.
#[derive(Clone, Copy)]
pub struct PageTrail(RwSignal<Vec<Option<String>>>);

impl PageTrail {
    pub fn new() -> PageTrail {
        PageTrail(RwSignal::new(vec![None]))
    }

    /// How many pages come before `current`, when the trail knows (tracked).
    fn position(&self, current: &Option<String>) -> Option<usize> {
        self.0.with(|t| t.iter().position(|c| c == current))
    }

    /// The cursor of the page before `current` (tracked).
    fn newer(&self, current: &Option<String>) -> Option<Option<String>> {
        let i = self.position(current)?;
        (i > 0).then(|| self.0.with(|t| t[i - 1].clone()))
    }

    /// The reader goes from `current` to the older page at `next`.
    fn went_older(&self, current: Option<String>, next: String) {
        self.0.update(|t| {
            match t.iter().position(|c| *c == current) {
                Some(i) => t.truncate(i + 1),
                None => *t = vec![current],
            }
            t.push(Some(next));
        });
    }
}

impl Default for PageTrail {
    fn default() -> Self {
        PageTrail::new()
    }
}

/// Links to the newest, newer and older pages; which triggers these are, when
/// known. Links, so they work before hydration and open in a new tab.
#[component]
pub fn Pager(
    /// The current page's cursor (`None`: the first page).
    current: Option<String>,
    /// The next (older) page's cursor, when there is one.
    next: Option<String>,
    /// Rows on this page.
    shown: usize,
    /// How many match, when counted.
    #[prop(optional)]
    total: Option<u64>,
    trail: PageTrail,
) -> impl IntoView {
    let address = use_address();
    let first = current.is_none();
    let range = {
        let current = current.clone();
        move || {
            let of = total.map(|n| format!(" of {n}")).unwrap_or_default();
            match trail.position(&current) {
                Some(i) if shown > 0 => {
                    let start = i * DEFAULT_PAGE_SIZE as usize + 1;
                    format!("Triggers {start}–{}{of}", start + shown - 1)
                }
                _ => format!("{shown} shown{of}"),
            }
        }
    };
    let newer = {
        let current = current.clone();
        move || {
            trail.newer(&current).filter(|c| c.is_some()).map(|cursor| {
                let href = address.href(|p| p.set("cursor", cursor));
                view! { <a href=href rel="prev" data-testid="newer-page">"← Newer"</a> }
            })
        }
    };
    let older = next.map(|next| {
        let href = {
            let next = next.clone();
            move || address.href(|p| p.set("cursor", Some(next.clone())))
        };
        let current = current.clone();
        view! {
            <a
                href=href
                rel="next"
                data-testid="next-page"
                on:click=move |_| trail.went_older(current.clone(), next.clone())
            >
                "Older →"
            </a>
        }
    });
    view! {
        <nav class="pager" aria-label="Pages">
            <span class="range" data-testid="page-range">{range}</span>
            {(!first).then(|| view! {
                <a href=move || address.href(|p| p.remove("cursor")) data-testid="first-page">"« Newest"</a>
            })}
            {newer}
            {older}
        </nav>
    }
}
