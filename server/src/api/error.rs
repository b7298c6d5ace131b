//! The REST API's error: an HTTP status and the JSON body of API.md,
//! `{"error": {"code", "message", "field"}}`. A service error becomes one here,
//! in the one place that knows which status each kind of failure answers with;
//! the rest are the edge's own refusals (unreadable JSON, wrong content type,
//! a body over the limit, an unknown method).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use app::domain::{ErrorBody, ErrorEnvelope};

use crate::service::ServiceError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    /// Seconds for the `Retry-After` header (a 429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                code: code.to_string(),
                message: message.into(),
                field: None,
            },
            retry_after: None,
        }
    }

    pub fn on(mut self, field: impl Into<String>) -> ApiError {
        self.body.field = Some(field.into());
        self
    }

    /// Input that cannot be read at all (400).
    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "validation_failed", message)
    }

    /// Readable input of the wrong shape (422), with the field when serde names one.
    pub fn unprocessable(field: Option<String>, message: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        );
        e.body.field = field;
        e
    }

    /// Well-formed input that breaks a rule (422), naming the field.
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> ApiError {
        ServiceError::invalid(field, rule).into()
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ServiceError::not_found(message).into()
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ServiceError::unauthorized(message).into()
    }

    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than the limit of {limit} bytes"),
        )
        .on("payload")
    }

    pub fn unsupported_media_type() -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send JSON with the header Content-Type: application/json",
        )
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this method is not allowed on this route",
        )
    }

    pub fn internal() -> ApiError {
        ServiceError::Internal.into()
    }

    pub fn body(&self) -> ErrorEnvelope {
        ErrorEnvelope {
            error: self.body.clone(),
        }
    }
}

/// The status each kind of service failure answers with.
fn status_of(e: &ServiceError) -> StatusCode {
    status_of_code(e.code())
}

/// The status of a failure already in its outward shape, by its code (a server
/// function's `ErrorBody`); the same as `status_of` for a service error.
pub fn status_of_code(code: &str) -> StatusCode {
    match code {
        "validation_failed" => StatusCode::UNPROCESSABLE_ENTITY,
        "not_found" => StatusCode::NOT_FOUND,
        "conflict" => StatusCode::CONFLICT,
        "unauthorized" => StatusCode::UNAUTHORIZED,
        "forbidden" => StatusCode::FORBIDDEN,
        "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "rate_limited" => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        ApiError {
            status: status_of(&e),
            retry_after: e.retry_after_secs(),
            body: e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_service_failure_answers_with_its_status_and_keeps_its_field() {
        let cases = [
            (
                ServiceError::invalid("event_type", "a rule"),
                422,
                Some("event_type"),
            ),
            (ServiceError::not_found("no trigger"), 404, None),
            (
                ServiceError::conflict_on("Idempotency-Key", "used"),
                409,
                Some("Idempotency-Key"),
            ),
            (ServiceError::unauthorized("who?"), 401, None),
            (ServiceError::forbidden("no"), 403, None),
            (ServiceError::Unavailable("later".into()), 503, None),
            (
                ServiceError::rate_limited("slow down", std::time::Duration::from_millis(1500)),
                429,
                None,
            ),
            (ServiceError::Internal, 500, None),
        ];
        for (service, status, field) in cases {
            let code = service.code();
            let api = ApiError::from(service);
            assert_eq!(api.status.as_u16(), status, "{code}");
            assert_eq!(api.body.code, code);
            assert_eq!(api.body.field.as_deref(), field, "{code}");
        }
    }

    #[test]
    fn a_429_says_in_whole_seconds_when_to_try_again() {
        let e = ServiceError::rate_limited("slow down", std::time::Duration::from_millis(1500));
        let response = ApiError::from(e).into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "2");
    }
}
