//! Enums whose variants are words: a status, a failure class, a log step. Each is
//! written as its word in the database, on the wire and in query strings, and read
//! back from it; `word_enum!` gives them all the same derives and the same three
//! names, so no enum spells its words twice.

/// Declares an enum of words: `Debug, Clone, Copy, Eq, Hash`, serde and the
/// OpenAPI schema (ssr), `Display`, and
///
/// - `ALL`: every variant in declaration order,
/// - `as_str()`: the word (`not_yet_started`),
/// - `parse(word)`: the variant, `None` for any other word.
///
/// Words are the snake_case of the variant unless a variant says otherwise with
/// both `#[serde(rename = "…")]` and `#[strum(serialize = "…")]`.
macro_rules! word_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            serde::Serialize,
            serde::Deserialize,
            strum::IntoStaticStr,
            strum::EnumString,
            strum::VariantArray,
            strum::Display,
        )]
        #[strum(serialize_all = "snake_case")]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = <$name as strum::VariantArray>::VARIANTS;

            /// The word stored and sent.
            pub fn as_str(self) -> &'static str {
                self.into()
            }

            /// The variant `word` names; `None` for any other word.
            pub fn parse(word: &str) -> Option<$name> {
                word.parse().ok()
            }
        }
    };
}
