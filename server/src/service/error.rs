//! The outward error: a stable code, a human message and the field at fault.
//! Internal failures are logged in full and reach clients only as `internal`.

use app::domain::{ErrorBody, ErrorEnvelope};

use crate::storage::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn on(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    /// Well-formed input that breaks a rule (422).
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::new(422, "validation_failed", message).on(field)
    }

    /// Input that cannot be read at all (400).
    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "validation_failed", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(409, "conflict", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(401, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(403, "forbidden", message)
    }

    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            413,
            "payload_too_large",
            format!("the request body is larger than the limit of {limit} bytes"),
        )
        .on("payload")
    }

    pub fn unsupported_media_type() -> ApiError {
        ApiError::new(
            415,
            "unsupported_media_type",
            "send JSON with the header Content-Type: application/json",
        )
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            405,
            "method_not_allowed",
            "this method is not allowed on this route",
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            500,
            "internal",
            "something went wrong on our side; it has been logged",
        )
    }

    pub fn body(&self) -> ErrorEnvelope {
        ErrorEnvelope {
            error: ErrorBody {
                code: self.code.to_string(),
                message: self.message.clone(),
                field: self.field.clone(),
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Duplicate(what) => ApiError::conflict(format!("a {what} already exists")),
            other => {
                tracing::error!(error = %other, "storage failure");
                ApiError::internal()
            }
        }
    }
}

impl From<ApiError> for ErrorBody {
    fn from(e: ApiError) -> ErrorBody {
        e.body().error
    }
}
