use serde::{Deserialize, Serialize};

/// Who the browser is signed in as, and what the pages may offer them. The
/// server refuses what a role may not do anyway; this only decides which
/// buttons and pages are shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// An e-mail address, a key's name, or "embedded panel".
    pub name: String,
    /// `viewer`, `operator`, `admin` or `ingest`.
    pub role: String,
    /// May re-run triggers (operators and admins).
    pub can_rerun: bool,
    /// May manage plugins, migrations, users, keys and read the audit trail.
    pub can_administer: bool,
}
