//! The words that travel everywhere, parsed once where they enter: each type is
//! built only through its `parse`, which holds the rule and names the field at
//! fault, so code past the boundary trusts what it holds. The wire keeps plain
//! strings (API.md's shapes); these wrap them, and storage gets them back with
//! `into_inner`.

use app::domain::EntityRef;

use super::ServiceError;

/// A plugin's name: 1 to 64 of `a-z 0-9 _ -`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PluginName(String);

impl PluginName {
    pub const RULE: &'static str = "a plugin name is 1 to 64 characters: lowercase letters, digits, _ and -, starting with a letter or digit";

    /// `field` is where the name came from (`name`).
    pub fn parse(field: &str, value: &str) -> Result<PluginName, ServiceError> {
        let b = value.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 64
            && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-');
        if !ok {
            return Err(ServiceError::invalid(field, Self::RULE));
        }
        Ok(PluginName(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An event type: 1 to 128 of letters, digits and `. _ : -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventType(String);

impl EventType {
    pub const RULE: &'static str =
        "an event type is 1 to 128 characters: letters, digits, and . _ : -";

    /// `field` is where the event type came from (`event_type`, `routes.{event}`).
    pub fn parse(field: &str, value: String) -> Result<EventType, ServiceError> {
        let ok = !value.is_empty()
            && value.len() <= 128
            && value
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'));
        if !ok {
            return Err(ServiceError::invalid(field, Self::RULE));
        }
        Ok(EventType(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// What a trigger is about: a type of 1 to 64 characters and an id of 1 to 256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity(EntityRef);

impl Entity {
    /// Fields are `entity.type` and `entity.id`, as on the wire.
    pub fn parse(e: EntityRef) -> Result<Entity, ServiceError> {
        if e.entity_type.trim().is_empty() || e.entity_type.len() > 64 {
            return Err(ServiceError::invalid(
                "entity.type",
                "give an entity type of 1 to 64 characters",
            ));
        }
        if e.id.trim().is_empty() || e.id.len() > 256 {
            return Err(ServiceError::invalid(
                "entity.id",
                "give an entity id of 1 to 256 characters",
            ));
        }
        Ok(Entity(e))
    }

    pub fn into_inner(self) -> EntityRef {
        self.0
    }
}

/// The key that groups triggers to re-run together: up to 256 characters.
/// Blank is the same as none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AggregationKey(String);

impl AggregationKey {
    pub const MAX_CHARS: usize = 256;

    pub fn parse(value: Option<String>) -> Result<Option<AggregationKey>, ServiceError> {
        Ok(optional_text("aggregation_key", value, Self::MAX_CHARS)?.map(AggregationKey))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Why a person re-runs something: required, trimmed, at most 500 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(value: Option<String>) -> Result<Reason, ServiceError> {
        let reason = value
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .ok_or_else(|| ServiceError::invalid("reason", "say why this is re-run"))?;
        if reason.chars().count() > Self::MAX_CHARS {
            return Err(ServiceError::invalid("reason", "at most 500 characters"));
        }
        Ok(Reason(reason))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Optional free text: blank is none, longer than `max` characters is refused.
pub(crate) fn optional_text(
    field: &str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, ServiceError> {
    match value {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) if v.chars().count() > max => Err(ServiceError::invalid(
            field,
            format!("at most {max} characters"),
        )),
        Some(v) => Ok(Some(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> String {
        r.unwrap_err().field().unwrap_or_default().to_string()
    }

    #[test]
    fn each_word_is_refused_naming_the_field_it_came_from() {
        assert_eq!(field_of(PluginName::parse("name", "Stripe")), "name");
        assert_eq!(
            field_of(EventType::parse("routes.a b", "a b".into())),
            "routes.a b"
        );
        assert_eq!(
            field_of(EventType::parse("event_type", String::new())),
            "event_type"
        );
        let entity = |t: &str, id: &str| EntityRef {
            entity_type: t.into(),
            id: id.into(),
        };
        assert_eq!(field_of(Entity::parse(entity(" ", "1"))), "entity.type");
        assert_eq!(
            field_of(Entity::parse(entity("invoice", &"9".repeat(257)))),
            "entity.id"
        );
        assert_eq!(
            field_of(AggregationKey::parse(Some("k".repeat(257)))),
            "aggregation_key"
        );
        assert_eq!(field_of(Reason::parse(Some("  ".into()))), "reason");
        assert_eq!(field_of(Reason::parse(Some("r".repeat(501)))), "reason");
    }

    #[test]
    fn good_words_are_kept_as_given_and_blank_optional_ones_are_none() {
        assert_eq!(
            PluginName::parse("name", "stripe-2").unwrap().as_str(),
            "stripe-2"
        );
        assert_eq!(
            EventType::parse("event_type", "invoice.created".into())
                .unwrap()
                .into_inner(),
            "invoice.created"
        );
        assert_eq!(AggregationKey::parse(Some("  ".into())).unwrap(), None);
        assert_eq!(
            Reason::parse(Some(" retry \n".into())).unwrap().as_str(),
            "retry"
        );
    }
}
