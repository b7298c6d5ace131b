//! Who may do what, decided here once for the REST API and the pages alike.
//!
//! A caller is a [`Principal`]: an API key, a signed-in user, the holder of an
//! embed token, or Calltrail itself. Its [`Role`] says which [`Permission`]s it
//! has; its scope (some plugins, one entity, or only what it created) says which
//! triggers it can see at all. A trigger outside the scope is "not found", never
//! "forbidden", so a scope does not reveal what lies beyond it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::ServiceError;
use crate::storage::AuditEntry;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    /// Reads the log.
    Viewer,
    /// Reads, and re-runs what failed.
    Operator,
    /// Everything: plugins, migrations, users, keys, audit.
    Admin,
    /// For applications: creates triggers and reports calls; reads only its own.
    Ingest,
}

/// What a request wants to do, as the role matrix knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Permission {
    /// Lists, details, counts, plugins' names.
    Read,
    /// Create triggers and report calls.
    Create,
    /// Re-run a trigger or an aggregation group.
    Rerun,
    /// Plugins' configuration, migrations, users, API keys, embed tokens, audit.
    Administer,
}

impl Role {
    pub const ALL: &'static [Role] = <Role as strum::VariantArray>::VARIANTS;

    /// The word stored and typed (`operator`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Role> {
        s.parse().ok()
    }

    /// The role matrix (API.md, "Access").
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Operator => matches!(p, Read | Create | Rerun),
            Role::Viewer => matches!(p, Read),
            Role::Ingest => matches!(p, Read | Create),
        }
    }
}

/// Who a principal is, as recorded on what it creates (`triggers.created_by`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    ApiKey(Uuid),
    User(Uuid),
    /// Whoever holds an embed token for one entity.
    Embed,
    /// Calltrail itself: the demo, trigger migrations, the command line.
    System,
}

impl Identity {
    /// The stable tag stored with what this identity creates.
    pub fn tag(&self) -> String {
        match self {
            Identity::ApiKey(id) => format!("key:{id}"),
            Identity::User(id) => format!("user:{id}"),
            Identity::Embed => "embed".into(),
            Identity::System => "system".into(),
        }
    }
}

/// One entity, for a principal that may see only it (an embed token's holder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityScope {
    pub entity_type: String,
    pub entity_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub identity: Identity,
    /// Shown in logs, audit rows and as the default initiator.
    pub name: String,
    pub role: Role,
    /// The plugins (ids) it may see; `None` is all of them.
    pub plugins: Option<Vec<Uuid>>,
    /// The one entity it may see; `None` is every entity.
    pub entity: Option<EntityScope>,
    /// The address its request came from, for the audit trail.
    pub client: Option<String>,
}

impl Principal {
    /// Calltrail acting on its own behalf (demo, migrations, command line): admin, unscoped.
    pub fn system(name: impl Into<String>) -> Principal {
        Principal {
            identity: Identity::System,
            name: name.into(),
            role: Role::Admin,
            plugins: None,
            entity: None,
            client: None,
        }
    }

    /// An audit row of something this principal did.
    pub fn audit(
        &self,
        at: DateTime<Utc>,
        action: impl Into<String>,
        target: impl Into<String>,
        reason: impl Into<String>,
        details: serde_json::Value,
    ) -> AuditEntry {
        AuditEntry {
            id: Uuid::now_v7(),
            at,
            actor: self.name.clone(),
            action: action.into(),
            target: target.into(),
            reason: reason.into(),
            client: self.client.clone(),
            details,
        }
    }

    pub fn require(&self, p: Permission) -> Result<(), ServiceError> {
        if self.role.allows(p) {
            Ok(())
        } else {
            Err(ServiceError::forbidden(format!(
                "{} needs a role that may {}; {} has the {} role",
                describe(p),
                verb(p),
                self.name,
                self.role.as_str()
            )))
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether a plugin is within this principal's plugin scope.
    pub fn sees_plugin(&self, plugin_id: Uuid) -> bool {
        self.plugins
            .as_ref()
            .is_none_or(|ids| ids.contains(&plugin_id))
    }

    /// The creator tag this principal is limited to (an `ingest` caller reads only
    /// what it created), if any.
    pub fn own_triggers_only(&self) -> Option<String> {
        (self.role == Role::Ingest).then(|| self.identity.tag())
    }
}

fn describe(p: Permission) -> &'static str {
    match p {
        Permission::Read => "reading the log",
        Permission::Create => "creating triggers and reporting calls",
        Permission::Rerun => "re-running triggers",
        Permission::Administer => "this administration",
    }
}

fn verb(p: Permission) -> &'static str {
    match p {
        Permission::Read => "read (viewer, operator, admin or ingest)",
        Permission::Create => "create (ingest, operator or admin)",
        Permission::Rerun => "re-run (operator or admin)",
        Permission::Administer => "administer (admin)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_stored_as_lowercase_words() {
        let words: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(words, ["viewer", "operator", "admin", "ingest"]);
        for &r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("Admin"), None);
    }

    #[test]
    fn the_role_matrix_is_the_one_api_md_lists() {
        use Permission::*;
        let can = |r: Role| -> Vec<Permission> {
            [Read, Create, Rerun, Administer]
                .into_iter()
                .filter(|p| r.allows(*p))
                .collect()
        };
        assert_eq!(can(Role::Viewer), [Read]);
        assert_eq!(can(Role::Ingest), [Read, Create]);
        assert_eq!(can(Role::Operator), [Read, Create, Rerun]);
        assert_eq!(can(Role::Admin), [Read, Create, Rerun, Administer]);
    }

    #[test]
    fn a_refusal_names_the_role_needed_and_the_role_held() {
        let viewer = Principal {
            role: Role::Viewer,
            ..Principal::system("ci-reader")
        };
        let e = viewer.require(Permission::Create).unwrap_err();
        assert!(e.message().contains("ingest, operator or admin"), "{e:?}");
        assert!(e.message().contains("ci-reader has the viewer role"));
    }

    #[test]
    fn only_ingest_callers_are_limited_to_what_they_created() {
        let id = Uuid::now_v7();
        let mut p = Principal {
            identity: Identity::ApiKey(id),
            role: Role::Ingest,
            ..Principal::system("billing")
        };
        assert_eq!(p.own_triggers_only(), Some(format!("key:{id}")));
        p.role = Role::Operator;
        assert_eq!(p.own_triggers_only(), None);
    }
}
