//! The address bar is the log's state: its filters and its page (`cursor`) are
//! query parameters, so a reader can bookmark, reload, go back and forward.
//! Components change it through [`Address`]: they edit the parameters, and the
//! page goes there client-side. Reading the filters is `ListQuery::parse_lenient`'s
//! job alone (see `LogView`); here parameters are only written.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::location::Url;
use leptos_router::params::ParamsMap;

/// Goes to an address, client-side. Send and Sync: the server renders a page
/// on whichever thread is free, and drops it on another.
type Navigate = Box<dyn Fn(&str) + Send + Sync>;

/// The current address, and a way to go to a changed one.
#[derive(Clone, Copy)]
pub struct Address {
    query: Memo<ParamsMap>,
    pathname: Memo<String>,
    navigate: StoredValue<Navigate>,
}

/// The address of the page this component is on.
pub fn use_address() -> Address {
    let navigate = use_navigate();
    Address {
        query: use_query_map(),
        pathname: use_location().pathname,
        navigate: StoredValue::new(Box::new(move |to: &str| navigate(to, Default::default()))),
    }
}

impl Address {
    /// Every value of a parameter (tracked).
    pub fn values(&self, name: &str) -> Vec<String> {
        self.query.read().get_all(name).unwrap_or_default()
    }

    /// Every value of a parameter, now (for event handlers).
    pub fn values_untracked(&self, name: &str) -> Vec<String> {
        self.query
            .read_untracked()
            .get_all(name)
            .unwrap_or_default()
    }

    /// The last value of a parameter, now (for event handlers).
    pub fn value_untracked(&self, name: &str) -> Option<String> {
        self.query.read_untracked().get(name)
    }

    /// The last value of a parameter (tracked).
    pub fn value(&self, name: &str) -> Option<String> {
        self.query.read().get(name)
    }

    /// This page with its parameters changed by `change` (tracked, for links).
    pub fn href(&self, change: impl FnOnce(&mut Params)) -> String {
        let mut params = Params(self.query.get());
        change(&mut params);
        format!("{}{}", self.pathname.get(), query_string(params.0))
    }

    /// Go to this page with its parameters changed by `change`.
    pub fn go(&self, change: impl FnOnce(&mut Params)) {
        let mut params = Params(self.query.get_untracked());
        change(&mut params);
        let to = format!(
            "{}{}",
            self.pathname.get_untracked(),
            query_string(params.0)
        );
        self.navigate.with_value(|navigate| navigate(&to));
    }

    /// Change a filter: as [`Address::go`], from the first page again (a cursor
    /// belongs to the filter it was made for).
    pub fn set_filter(&self, change: impl FnOnce(&mut Params)) {
        self.go(|params| {
            params.remove("cursor");
            change(params);
        });
    }
}

/// Query parameters being edited: values are kept exactly as given.
pub struct Params(ParamsMap);

impl Params {
    /// Replace every value of `name` with `values` (none: remove it).
    pub fn set_all(&mut self, name: &'static str, values: impl IntoIterator<Item = String>) {
        self.0.remove(name);
        for value in values {
            // ParamsMap decodes what it is given; encoding first keeps `%` and `+`.
            self.0.insert(name, Url::escape(&value));
        }
    }

    /// Set `name` to `value`, or remove it when `value` is blank.
    pub fn set(&mut self, name: &'static str, value: Option<String>) {
        let value = value.filter(|v| !v.trim().is_empty());
        self.set_all(name, value);
    }

    pub fn remove(&mut self, name: &str) {
        self.0.remove(name);
    }

    /// Remove every parameter but those named in `keep`.
    pub fn retain(&mut self, keep: &[&str]) {
        let mut kept = ParamsMap::new();
        for name in keep {
            for value in self.0.get_all(name).unwrap_or_default() {
                kept.insert(name.to_string(), Url::escape(&value));
            }
        }
        self.0 = kept;
    }
}

/// `?a=1&b=2`, or nothing: the same text on the server and in the browser (the
/// router's own writer encodes differently in each), readable (`plugin=a-b`,
/// `…T10:00:00Z`).
fn query_string(params: ParamsMap) -> String {
    let pairs: Vec<String> = params
        .into_iter()
        .map(|(name, value)| format!("{}={}", encode(&name), encode(&value)))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

/// Percent-encode all but the unreserved characters (and `:`, harmless in a
/// query or a path segment): for query values and path segments alike.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_reads_plainly_and_round_trips_through_the_lists_parser() {
        let params: ParamsMap = [
            ("plugin", "log-a"),
            ("plugin", "b"),
            ("scheduled_from", "2026-11-24T11:00:00Z"),
            ("q", "a b+c%/&="),
        ]
        .into_iter()
        .collect();
        let query = query_string(params);
        assert_eq!(
            query,
            "?plugin=log-a&plugin=b&scheduled_from=2026-11-24T11:00:00Z&q=a%20b%2Bc%25%2F%26%3D"
        );
        let parsed = crate::domain::ListQuery::parse(&query[1..]).unwrap();
        assert_eq!(parsed.filter.plugin, ["log-a", "b"]);
        assert_eq!(parsed.filter.q.as_deref(), Some("a b+c%/&="));
        assert_eq!(query_string(ParamsMap::new()), "");
    }
}
