//! What can go wrong in the service, in the service's own words: no HTTP here.
//! The REST API maps it to a status once (`api::error`); the pages read it as an
//! [`ErrorBody`] (code, readable message, field) once, below. Internal failures are
//! logged in full where they happen and reach clients only as `internal`.

use std::fmt;

use app::domain::ErrorBody;

use crate::storage::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceError {
    /// Well-formed input that breaks a rule. `field` names the input at fault
    /// (`entity.id`, `Idempotency-Key`); `rule` says what it must be.
    Invalid { field: String, rule: String },
    /// Nothing of that name or id.
    NotFound(String),
    /// The request clashes with what exists (a name taken, a key reused).
    Conflict {
        message: String,
        field: Option<String>,
    },
    /// No caller, or a caller we do not know.
    Unauthorized(String),
    /// A known caller whose role does not allow this.
    Forbidden(String),
    /// A dependency is down for now; the same request may succeed later.
    Unavailable(String),
    /// Too many attempts (failed authentications) from this caller: try again
    /// after `retry_after`.
    RateLimited {
        message: String,
        retry_after: std::time::Duration,
    },
    /// A failure on our side; already logged where it happened.
    Internal,
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> ServiceError {
        ServiceError::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> ServiceError {
        ServiceError::NotFound(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> ServiceError {
        ServiceError::Conflict {
            message: message.into(),
            field: None,
        }
    }

    /// A conflict caused by one field of the input.
    pub fn conflict_on(field: impl Into<String>, message: impl Into<String>) -> ServiceError {
        ServiceError::Conflict {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> ServiceError {
        ServiceError::Unauthorized(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> ServiceError {
        ServiceError::Forbidden(message.into())
    }

    pub fn rate_limited(
        message: impl Into<String>,
        retry_after: std::time::Duration,
    ) -> ServiceError {
        ServiceError::RateLimited {
            message: message.into(),
            retry_after,
        }
    }

    /// Whole seconds to wait before trying again (at least 1), when that is the answer.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ServiceError::RateLimited { retry_after, .. } => {
                Some(retry_after.as_secs_f64().ceil().max(1.0) as u64)
            }
            ServiceError::Unavailable(_) => Some(UNAVAILABLE_RETRY_SECS),
            _ => None,
        }
    }

    pub fn internal() -> ServiceError {
        ServiceError::Internal
    }

    /// The same error about one item of a list in the input: its field is read
    /// inside `prefix` (`create[2]` turns `entity.id` into `create[2].entity.id`).
    pub fn within(self, prefix: &str) -> ServiceError {
        match self {
            ServiceError::Invalid { field, rule } => ServiceError::Invalid {
                field: format!("{prefix}.{field}"),
                rule,
            },
            ServiceError::Conflict { message, field } => ServiceError::Conflict {
                message,
                field: Some(format!("{prefix}.{}", field.unwrap_or_default())),
            },
            other => other,
        }
    }

    /// The stable code clients branch on (the `code` of API.md's error body).
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Invalid { .. } => "validation_failed",
            ServiceError::NotFound(_) => "not_found",
            ServiceError::Conflict { .. } => "conflict",
            ServiceError::Unauthorized(_) => "unauthorized",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::Unavailable(_) => "unavailable",
            ServiceError::RateLimited { .. } => "rate_limited",
            ServiceError::Internal => "internal",
        }
    }

    /// The input at fault, if one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            ServiceError::Invalid { field, .. } => Some(field),
            ServiceError::Conflict { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// What a person reads.
    pub fn message(&self) -> &str {
        match self {
            ServiceError::Invalid { rule, .. } => rule,
            ServiceError::NotFound(m)
            | ServiceError::Conflict { message: m, .. }
            | ServiceError::Unauthorized(m)
            | ServiceError::Forbidden(m)
            | ServiceError::Unavailable(m)
            | ServiceError::RateLimited { message: m, .. } => m,
            ServiceError::Internal => "something went wrong on our side; it has been logged",
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field() {
            Some(field) => write!(f, "{field}: {}", self.message()),
            None => f.write_str(self.message()),
        }
    }
}

impl std::error::Error for ServiceError {}

/// Seconds a client is told to wait after a 503.
pub const UNAVAILABLE_RETRY_SECS: u64 = 2;

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> ServiceError {
        match e {
            StoreError::Duplicate(what) => {
                ServiceError::conflict(format!("a {what} already exists"))
            }
            // The database busy or out of reach is not a fault of this request:
            // the client is told to come back, and nothing was written.
            other if other.is_transient() => {
                tracing::warn!(error = %other, "storage unavailable");
                ServiceError::Unavailable(
                    "the database did not answer in time; nothing was changed, try again shortly"
                        .into(),
                )
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                ServiceError::Internal
            }
        }
    }
}

/// The one reading of a service error for the pages: the same code, message and
/// field a REST client gets, without the HTTP status.
impl From<ServiceError> for ErrorBody {
    fn from(e: ServiceError) -> ErrorBody {
        ErrorBody {
            code: e.code().to_string(),
            message: e.message().to_string(),
            field: e.field().map(str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_read_a_service_error_with_its_code_and_field() {
        let body = ErrorBody::from(ServiceError::invalid("entity.id", "give an entity id"));
        assert_eq!(body.code, "validation_failed");
        assert_eq!(body.field.as_deref(), Some("entity.id"));
        assert_eq!(body.message, "give an entity id");
        let body = ErrorBody::from(ServiceError::Internal);
        assert_eq!((body.code.as_str(), body.field), ("internal", None));
    }
}

#[cfg(test)]
mod transient_tests {
    use super::*;

    #[test]
    fn a_database_out_of_reach_is_unavailable_with_a_time_to_come_back() {
        let timed_out = StoreError::Database {
            context: "inserting a trigger",
            source: sqlx::Error::PoolTimedOut,
        };
        let e = ServiceError::from(timed_out);
        assert_eq!(e.code(), "unavailable");
        assert_eq!(e.retry_after_secs(), Some(UNAVAILABLE_RETRY_SECS));
        assert!(
            e.message().contains("nothing was changed"),
            "{}",
            e.message()
        );
        let e = ServiceError::from(StoreError::WriterGone);
        assert_eq!(e.code(), "unavailable");
        // A row that cannot be read is our fault, not the database's mood.
        let e = ServiceError::from(StoreError::Corrupt("bad json".into()));
        assert_eq!(e.code(), "internal");
        assert_eq!(e.retry_after_secs(), None);
    }
}
