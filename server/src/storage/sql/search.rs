//! Search (the list's `q`): the text a trigger is found by, and the two ways a
//! filter asks for it.
//!
//! `trigger_search` holds one row per trigger (migration 0018): `head` (action,
//! event type, entity id), `body` (the payload's string and number values as stored
//! in clear: a sealed value is an object `{"$sealed": …}` and is skipped whole) and
//! `ext` (the external id), all lower-cased here, in Rust, as the query is. A match
//! is the query as a substring of one of the three, case-insensitively.
//!
//! - **Indexed** (`QPlan::Index`): the index finds the matching triggers (SQLite FTS5
//!   trigrams, PostgreSQL `pg_trgm` GIN with `LIKE`), then the other filters
//!   and the order apply to those. Its cost grows with the number of matches.
//! - **Scan** (`QPlan::Scan`): the list walks its own order (an index per filter)
//!   and tests each trigger's text (`instr` / `strpos`) until the page is full. Its
//!   cost grows with 1 / the share of rows that match.
//!
//! Both answer the same rows. On PostgreSQL a list first tests the first
//! [`SEARCH_PROBE_ROWS`] triggers of its own order (`select_triggers_probe`): a full
//! page there is the answer (counting a common text's matches there reads the
//! index's whole bitmap; SQLite's FTS5 counts the first ones as it finds them).
//! Otherwise it picks the indexed plan when the query has fewer than
//! [`SEARCH_SCAN_FROM`] matches (fetched, or counted, with a bound), the scan
//! otherwise.
//!
//! On PostgreSQL the index is over a key of the text in which punctuation and
//! spaces are letters (`pg_search_key`), so a fragment's trigrams span them.

use super::*;

/// From this many matches on, a list page walks its own order instead of the
/// index's matches: 50 rows out of ≥ 0.5 % of a million are found within the first
/// ~10,000 rows, while the index would hand back every one of them to be sorted.
pub(crate) const SEARCH_SCAN_FROM: u32 = 5_000;

/// How many of the list's first triggers a search tests before asking the index
/// (see `select_triggers_probe`): text in at least one trigger in 20 fills a page of
/// 50 there, for the cost of testing 1,000 texts when it does not.
pub(crate) const SEARCH_PROBE_ROWS: u32 = 1_000;

/// How `q` is asked for (see the module's note).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QPlan {
    Index,
    Scan,
}

/// The query as the stored text is folded.
pub(crate) fn fold(q: &str) -> String {
    q.trim().to_lowercase()
}

/// A trigger's head: action, event type, entity id.
pub(crate) fn search_head(t: &NewTrigger) -> String {
    let action = t.action.as_deref().unwrap_or("");
    let entity = t.entity.as_ref().map(|e| e.id.as_str()).unwrap_or("");
    format!("{action}\n{}\n{entity}", t.event_type)
        .to_lowercase()
        .replace('\0', "")
}

/// The payload's text and number values, one a line; `None` when it has none.
/// Sealed values (`{"$sealed": …}`) are not text in clear and are left out whole.
pub(crate) fn search_body(payload: &str) -> Option<String> {
    fn walk(v: &serde_json::Value, out: &mut String) {
        use serde_json::Value;
        match v {
            // PostgreSQL text holds no NUL (a payload may, as a JSON escape).
            Value::String(s) => {
                out.extend(s.to_lowercase().chars().filter(|c| *c != '\0'));
                out.push('\n');
            }
            Value::Number(n) => {
                out.push_str(&n.to_string());
                out.push('\n');
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => {
                if map.len() == 1 && map.contains_key(SEALED_KEY) {
                    return;
                }
                map.values().for_each(|i| walk(i, out));
            }
            Value::Null | Value::Bool(_) => {}
        }
    }
    let value: serde_json::Value = serde_json::from_str(payload).ok()?;
    let mut out = String::new();
    walk(&value, &mut out);
    out.pop();
    (!out.is_empty()).then_some(out)
}

/// The key a sealed value is stored under (`service::redact::SEALED_KEY`; storage
/// does not import the service).
const SEALED_KEY: &str = "$sealed";

/// The search rows of new triggers; `None` when there are none.
pub(crate) fn insert_search(d: Dialect, rows: &[NewTrigger]) -> Option<Sql> {
    if rows.is_empty() {
        return None;
    }
    let mut sql = Sql::new(
        d,
        "INSERT INTO trigger_search (trigger_id, head, body) VALUES ",
    );
    for (i, t) in rows.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_row(vec![
            t.id.into(),
            search_head(t).into(),
            search_body(&t.payload).into(),
        ]);
    }
    Some(sql)
}

/// An external id learnt from a provider's answer becomes searchable.
pub(crate) fn set_search_ext(d: Dialect, trigger_id: Uuid, external_id: &str) -> Sql {
    let mut sql = Sql::new(d, "UPDATE trigger_search SET ext = ");
    sql.bind(external_id.to_lowercase().replace('\0', ""))
        .push(" WHERE trigger_id = ")
        .bind(trigger_id);
    sql
}

/// The payload's text leaves the index with the payload (retention, erasure), for
/// the triggers that are still final (as `mark_details_removed`).
pub(crate) fn clear_search_body(d: Dialect, ids: &[Uuid]) -> Sql {
    let mut sql = Sql::new(
        d,
        format!(
            "UPDATE trigger_search SET body = NULL WHERE body IS NOT NULL AND trigger_id IN \
             (SELECT id FROM triggers WHERE {} AND id IN ",
            is_final(d)
        ),
    );
    sql.bind_row(ids.iter().map(|id| Arg::from(*id)).collect())
        .push(")");
    sql.once()
}

/// How the search index forgets a deleted row, for the rest of the transaction:
/// `at_once` rewrites the index's pages now, so the row's text is gone from the
/// file (SQLite FTS5 `secure-delete`, on by default since migration 0018);
/// otherwise it writes a delete marker that later merges fold in, about a sixth of
/// the cost. The setting is stored with the index, so it is put back before a
/// commit. PostgreSQL's index has no such choice: `None`.
pub(crate) fn search_index_forgets(d: Dialect, at_once: bool) -> Option<Sql> {
    (d == Dialect::Sqlite).then(|| {
        Sql::new(
            d,
            format!(
                "INSERT INTO trigger_search_fts (trigger_search_fts, rank) \
                 VALUES ('secure-delete', {})",
                u8::from(at_once)
            ),
        )
    })
}

/// The characters PostgreSQL's trigram key turns into `q` (see [`pg_search_key`]):
/// those that join the parts of ids, e-mail addresses, URLs and times, and the
/// spaces. `pg_trgm` reads only letters and digits as parts of words: each of
/// these would end one, so the fragment `inv-12` would give the index nothing but
/// `inv`, which nearly every invoice row holds. (Each one more costs every search
/// a pass over each candidate's text; PostgreSQL's `translate` over a longer list
/// was 15× slower than these `replace`s.)
const PG_JOINERS: [char; 8] = [' ', '\n', '-', '.', '@', '_', '/', ':'];

/// PostgreSQL's trigram index key (migration 0021 indexes exactly this): the
/// document with every joiner turned into `q`, so a fragment's trigrams span its
/// punctuation (`inv-12` → `invq12` → `inv`, `nvq`, `vq1`, `q12`). The key only
/// finds candidates; the document itself is checked after, so a real `q` meeting
/// the same letters costs a recheck, never a wrong row.
fn pg_search_key() -> String {
    PG_JOINERS
        .iter()
        .fold(document(Dialect::Postgres).to_string(), |text, c| {
            let c = match c {
                '\n' => "E'\\n'".to_string(),
                c => format!("'{c}'"),
            };
            format!("replace({text}, {c}, 'q')")
        })
}

/// `%key%` for `LIKE` against [`pg_search_key`]: the folded text with the same
/// joiners turned into `q`, and `LIKE`'s own `%` and `\` escaped (`_` is a joiner).
fn pg_key_pattern(folded: &str) -> String {
    let mut out = String::with_capacity(folded.len() + 2);
    out.push('%');
    for c in folded.chars() {
        match c {
            c if PG_JOINERS.contains(&c) => out.push('q'),
            '%' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('%');
    out
}

/// The three columns as one text, for PostgreSQL's trigram key and for the
/// exact test on both.
fn document(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => {
            "(s.head || char(10) || coalesce(s.body, '') || char(10) || coalesce(s.ext, ''))"
        }
        Dialect::Postgres => {
            "(s.head || E'\\n' || coalesce(s.body, '') || E'\\n' || coalesce(s.ext, ''))"
        }
    }
}

/// FTS5 query for rows that hold every trigram the text is made of: the index is
/// `detail=none` (no positions), so this finds candidates and the text itself is
/// checked after. Every trigram, once each: the more of them, the fewer candidates
/// to check (a fragment such as `inv-12` starts with a trigram nearly every row
/// holds); `None` when the text is shorter than a trigram.
fn fts_trigrams(folded: &str) -> Option<String> {
    let chars: Vec<char> = folded.chars().collect();
    if chars.len() < 3 {
        return None;
    }
    let mut terms: Vec<String> = Vec::new();
    for w in chars.windows(3) {
        let tri: String = w.iter().collect();
        let term = format!("\"{}\"", tri.replace('"', "\"\""));
        if !terms.contains(&term) {
            terms.push(term);
        }
    }
    Some(terms.join(" AND "))
}

/// ` AND …` the trigger `t` matches the folded query, asked for as `plan` says.
pub(crate) fn push_search(sql: &mut Sql, folded: &str, plan: QPlan) {
    let d = sql.dialect;
    let sqlite_trigrams = match d {
        Dialect::Sqlite => fts_trigrams(folded),
        Dialect::Postgres => None,
    };
    // Shorter than a trigram (the service refuses it; storage stays correct): scan.
    let plan = if d == Dialect::Sqlite && sqlite_trigrams.is_none() {
        QPlan::Scan
    } else {
        plan
    };
    match (plan, d) {
        (QPlan::Index, Dialect::Sqlite) => {
            sql.push(
                " AND t.id IN (SELECT s.trigger_id FROM trigger_search_fts f \
                 JOIN trigger_search s ON s.id = f.rowid WHERE trigger_search_fts MATCH ",
            )
            .bind(sqlite_trigrams.unwrap_or_default())
            .push(&format!(" AND instr({}, ", document(d)))
            .bind(folded.to_string())
            .push(") > 0)");
        }
        (QPlan::Index, Dialect::Postgres) => {
            sql.push(" AND t.id IN (SELECT s.trigger_id FROM trigger_search s WHERE ");
            push_pg_matches(sql, folded);
            sql.push(")");
        }
        // A scalar subquery per row: neither database turns it into a join, so the
        // walk stays in the list's order and stops when the page is full.
        (QPlan::Scan, _) => {
            let find = match d {
                Dialect::Sqlite => "instr",
                Dialect::Postgres => "strpos",
            };
            sql.push(&format!(" AND (SELECT {find}({}, ", document(d)))
                .bind(folded.to_string())
                .push(") FROM trigger_search s WHERE s.trigger_id = t.id) > 0");
        }
    }
}

/// `s` holds the folded text, on PostgreSQL: the trigram key through its index for
/// candidates, then the text itself.
fn push_pg_matches(sql: &mut Sql, folded: &str) {
    sql.push(&pg_search_key())
        .push(" LIKE ")
        .bind(pg_key_pattern(folded))
        .push(&format!(" AND strpos({}, ", document(Dialect::Postgres)))
        .bind(folded.to_string())
        .push(") > 0");
}

/// ` FROM …` starting from the SQLite index's matches, then `triggers t` (and
/// `plugins p` with `with_plugins`), ` WHERE` the text holds the query. `CROSS JOIN`
/// keeps that order: otherwise SQLite may walk a whole list index (to avoid sorting
/// a handful of rows) and test each row against the set of matches. `false` (and
/// nothing pushed) when the query is shorter than a trigram.
pub(crate) fn push_sqlite_matches_from(sql: &mut Sql, folded: &str, with_plugins: bool) -> bool {
    let Some(trigrams) = fts_trigrams(folded) else {
        return false;
    };
    sql.push(
        " FROM trigger_search_fts f JOIN trigger_search s ON s.id = f.rowid \
         CROSS JOIN triggers t ON t.id = s.trigger_id",
    );
    if with_plugins {
        sql.push(" JOIN plugins p ON p.id = t.plugin_id");
    }
    sql.push(" WHERE trigger_search_fts MATCH ")
        .bind(trigrams)
        .push(&format!(" AND instr({}, ", document(Dialect::Sqlite)))
        .bind(folded.to_string())
        .push(") > 0");
    true
}

/// The triggers the folded query matches, no more than `cap` of them, on
/// PostgreSQL: a list of fewer is taken from these ids (`select_triggers_among`),
/// which PostgreSQL reads by primary key and sorts. Asked as one query with the
/// match inside, it would rather walk the whole list's order testing each trigger
/// (seen: 0.7 s for `inv-12` at 1,000,000 triggers).
pub(crate) fn select_pg_matches(folded: &str, cap: u32) -> Sql {
    let mut sql = Sql::new(
        Dialect::Postgres,
        "SELECT s.trigger_id AS id FROM trigger_search s WHERE ",
    );
    push_pg_matches(&mut sql, folded);
    sql.push(" LIMIT ").bind(i64::from(cap));
    sql
}

/// How many triggers the folded query matches, counting no further than `cap`
/// (whatever the other filters: it is the index's side of the choice).
pub(crate) fn count_search_matches(d: Dialect, folded: &str, cap: u32) -> Sql {
    let mut sql = match d {
        Dialect::Sqlite => {
            let mut sql = Sql::new(
                d,
                "SELECT COUNT(*) AS n FROM (SELECT 1 FROM trigger_search_fts f \
                 JOIN trigger_search s ON s.id = f.rowid WHERE trigger_search_fts MATCH ",
            );
            // Shorter than a trigram: no index to ask; count it as common (a scan).
            sql.bind(fts_trigrams(folded).unwrap_or_else(|| "\"\"".into()))
                .push(&format!(" AND instr({}, ", document(d)))
                .bind(folded.to_string())
                .push(") > 0");
            sql
        }
        Dialect::Postgres => {
            let mut sql = Sql::new(
                d,
                "SELECT COUNT(*) AS n FROM (SELECT 1 FROM trigger_search s WHERE ",
            );
            push_pg_matches(&mut sql, folded);
            sql
        }
    };
    sql.push(" LIMIT ").bind(cap as i64).push(") m");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_the_payloads_text_and_numbers_without_sealed_values() {
        let body = search_body(
            r#"{"email":"Ada@Example.COM","n":42,"ok":true,"none":null,
                "card":{"$sealed":"v1.c2VjcmV0"},"lines":[{"sku":"SKU-1"},1.5]}"#,
        )
        .unwrap();
        let lines: Vec<&str> = body.lines().collect();
        for want in ["ada@example.com", "42", "sku-1", "1.5"] {
            assert!(lines.contains(&want), "{want} in {lines:?}");
        }
        assert!(!body.contains("c2vjcmv0") && !body.contains("c2VjcmV0"));
        assert!(!body.contains("true") && !body.contains("sealed"));
        assert_eq!(search_body("null"), None);
        assert_eq!(search_body(r#"{"k":{"$sealed":"x"}}"#), None);
    }

    #[test]
    fn postgres_keys_span_punctuation_and_match_the_migrations_index() {
        assert_eq!(pg_key_pattern("inv-12"), "%invq12%");
        assert_eq!(pg_key_pattern("50%_a\\b o'k\n"), "%50\\%qa\\\\bqo'kq%");
        assert_eq!(pg_key_pattern("ada@x.io/a:b"), "%adaqxqioqaqb%");
        assert_eq!(pg_key_pattern("äbc"), "%äbc%");
        // The list asks for the very expression migration 0021 indexes (without
        // the table's alias), or PostgreSQL would not use the index.
        let migration = include_str!("../../../migrations/postgres/0021_search_key.sql");
        let indexed = pg_search_key().replace("s.", "");
        assert!(
            migration.contains(&format!("gin (({indexed}) gin_trgm_ops)")),
            "migration 0021 indexes {indexed}"
        );
    }

    #[test]
    fn fts_quotes_what_would_be_syntax() {
        assert_eq!(
            fts_trigrams("say \"hi\"").as_deref(),
            Some("\"say\" AND \"ay \" AND \"y \"\"\" AND \" \"\"h\" AND \"\"\"hi\" AND \"hi\"\"\"")
        );
        assert_eq!(fts_trigrams("abc").as_deref(), Some("\"abc\""));
        assert_eq!(fts_trigrams("abcd").as_deref(), Some("\"abc\" AND \"bcd\""));
        assert_eq!(fts_trigrams("aaaa").as_deref(), Some("\"aaa\""));
        assert_eq!(fts_trigrams("ab"), None);
        assert_eq!(fold("  ÄBC-12 "), "äbc-12");
    }
}
