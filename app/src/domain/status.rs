word_enum! {
    /// Where a trigger stands. The word is always shown next to the colour.
    pub enum Status {
        NotYetStarted,
        Running,
        Retrying,
        Finished,
        Erroneous,
    }
}

impl Status {
    /// The word on the badge.
    pub fn label(self) -> &'static str {
        match self {
            Status::NotYetStarted => "Not yet started",
            Status::Running => "Running",
            Status::Retrying => "Retrying",
            Status::Finished => "Finished",
            Status::Erroneous => "Erroneous",
        }
    }

    /// Final statuses never change again without a manual rerun or a migration.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Finished | Status::Erroneous)
    }
}

word_enum! {
    /// What an attempt's outcome was, per DESIGN.md's failure table.
    pub enum FailureClass {
        Success,
        Auth,
        NotFound,
        Validation,
        RateLimited,
        Timeout,
        Server,
        Network,
        Permanent,
        /// Calltrail itself failed around the call (it could not record or prepare it):
        /// retried by the policy like a network failure, never silently dropped.
        Internal,
    }
}

impl FailureClass {
    /// Classify an HTTP response status code.
    pub fn from_status_code(code: u16) -> FailureClass {
        match code {
            200..=299 => FailureClass::Success,
            401 | 403 => FailureClass::Auth,
            404 | 410 => FailureClass::NotFound,
            400 | 409 | 422 => FailureClass::Validation,
            408 => FailureClass::Timeout,
            425 | 429 => FailureClass::RateLimited,
            500..=599 => FailureClass::Server,
            _ => FailureClass::Permanent,
        }
    }

    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            FailureClass::RateLimited
                | FailureClass::Timeout
                | FailureClass::Server
                | FailureClass::Network
                | FailureClass::Internal
        )
    }

    /// The hint shown to the administrator.
    pub fn hint(self) -> &'static str {
        match self {
            FailureClass::Success => "delivered",
            FailureClass::Auth => "credentials expired or revoked: reconnect the plugin",
            FailureClass::NotFound => {
                "the external record does not exist (deleted at the provider?)"
            }
            FailureClass::Validation => {
                "the data does not match the provider's rules: read the response body"
            }
            FailureClass::RateLimited => "the provider throttled the call; retried automatically",
            FailureClass::Timeout => {
                "the provider did not answer within the plugin's timeout; retried automatically"
            }
            FailureClass::Server => "provider outage; queued for retry",
            FailureClass::Network => "unreachable; retried",
            FailureClass::Permanent => "the provider refused the call",
            FailureClass::Internal => {
                "Calltrail could not record or prepare this call; retried automatically"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_round_trip() {
        for &s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(Status::ALL.len(), 5, "every status is listed");
        assert_eq!(Status::NotYetStarted.as_str(), "not_yet_started");
        assert_eq!(Status::parse("Running"), None, "the words are exact");
    }

    #[test]
    fn classification_follows_the_failure_table() {
        use FailureClass::*;
        let table = [
            (200, Success),
            (201, Success),
            (401, Auth),
            (403, Auth),
            (404, NotFound),
            (410, NotFound),
            (400, Validation),
            (409, Validation),
            (422, Validation),
            (408, Timeout),
            (425, RateLimited),
            (429, RateLimited),
            (500, Server),
            (503, Server),
            (302, Permanent),
            (418, Permanent),
        ];
        for (code, class) in table {
            assert_eq!(FailureClass::from_status_code(code), class, "{code}");
        }
        assert!(!Auth.is_retryable() && !Validation.is_retryable() && !NotFound.is_retryable());
        assert!(RateLimited.is_retryable() && Server.is_retryable() && Network.is_retryable());
    }

    #[test]
    fn every_class_round_trips_and_internal_is_retried() {
        for &c in FailureClass::ALL {
            assert_eq!(FailureClass::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert_eq!(
            serde_json::to_value(FailureClass::Internal).unwrap(),
            "internal"
        );
        assert!(FailureClass::Internal.is_retryable());
    }
}
