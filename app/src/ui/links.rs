//! Addresses of the app's pages, built in one place so every link escapes its
//! parts the same way (an entity id may hold `/`, `?` or spaces).

use crate::domain::EntityRef;

/// `s` as one path segment or query value: everything but unreserved bytes escaped.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One trigger's page.
pub fn trigger_href(id: impl std::fmt::Display) -> String {
    format!("/triggers/{id}")
}

/// One entity's activity feed.
pub fn entity_href(entity: &EntityRef) -> String {
    format!(
        "/entities/{}/{}",
        encode(&entity.entity_type),
        encode(&entity.id)
    )
}

/// A plugin's page (its settings, and reconnecting it).
pub fn plugin_href(name: &str) -> String {
    format!("/plugins/{}", encode(name))
}

/// The log narrowed to one aggregation group.
pub fn group_log_href(aggregation_key: &str) -> String {
    format!("/?aggregation_key={}", encode(aggregation_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_of_an_address_is_escaped() {
        let e = EntityRef {
            entity_type: "invoice".into(),
            id: "INV/10 42?".into(),
        };
        assert_eq!(entity_href(&e), "/entities/invoice/INV%2F10%2042%3F");
        assert_eq!(plugin_href("my_plugin-1"), "/plugins/my_plugin-1");
        assert_eq!(group_log_href("run 1&2"), "/?aggregation_key=run%201%262");
    }
}
