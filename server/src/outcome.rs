//! How an attempt is told: the lines of a trigger's log, the reason its decision
//! gives and the error it leaves on the trigger. Written once here for the three
//! that tell it: the executor, reported calls and the demo data. Pure functions;
//! the caller passes the time. Nothing here decides anything: the executor's
//! policy decides, a reported call is never retried, and the words follow.

use chrono::{DateTime, Utc};

use app::domain::{
    Decision, DecisionAction, FailureClass, LastError, LogEntry, LogStep, StartedByKind, Status,
};

/// One line of a trigger's log.
pub fn line(at: DateTime<Utc>, step: LogStep, message: impl Into<String>) -> LogEntry {
    LogEntry {
        at,
        step,
        message: message.into(),
    }
}

/// A trigger accepted for `scheduled_at`; `inactive` names its plugin when that
/// plugin is inactive, so the trigger waits for it.
pub fn queued(at: DateTime<Utc>, scheduled_at: DateTime<Utc>, inactive: Option<&str>) -> LogEntry {
    let message = match inactive {
        None => format!("queued for {}", scheduled_at.to_rfc3339()),
        Some(plugin) => format!(
            "queued; plugin {plugin} is inactive, so it waits until the plugin is activated"
        ),
    };
    line(at, LogStep::Queued, message)
}

/// A call the application made itself, reported by `by`.
pub fn reported(at: DateTime<Utc>, by: &str) -> LogEntry {
    line(at, LogStep::Reported, format!("reported by {by}"))
}

/// A worker (`owner`) took attempt `number` under a lease.
pub fn claimed(at: DateTime<Utc>, owner: &str, number: u32) -> LogEntry {
    line(
        at,
        LogStep::Claimed,
        format!("claimed by {owner}, attempt {number}"),
    )
}

/// Someone asked for this run: a user (manual) or a trigger migration.
pub fn run_asked(at: DateTime<Utc>, kind: StartedByKind, actor: &str, reason: &str) -> LogEntry {
    // Only users and migrations ask for runs; the other kinds never get here.
    let step = match kind {
        StartedByKind::Migration => LogStep::Migration,
        StartedByKind::Manual | StartedByKind::Automatic | StartedByKind::Reported => {
            LogStep::Manual
        }
    };
    line(
        at,
        step,
        format!("{} run by {actor}: {reason}", kind.as_str()),
    )
}

/// What a worker that stopped before recording a result leaves: the call may
/// have reached the provider.
pub const INTERRUPTED: &str = "interrupted: the worker stopped before it recorded a result \
                               (its lease expired); the call may have reached the provider";

/// The decision on a claim whose lease expired with attempt `number` of `max`
/// unrecorded, and the step that logs it: stop when retries are spent, else go
/// again now.
pub fn lease_expired(number: u32, max: u32, now: DateTime<Utc>) -> (Decision, LogStep) {
    if number >= max {
        (
            Decision {
                action: DecisionAction::Stop,
                at: None,
                reason: format!(
                    "{INTERRUPTED}; retries exhausted (attempt {number} of {max}): stopped"
                ),
            },
            LogStep::Failed,
        )
    } else {
        (
            Decision {
                action: DecisionAction::Retry,
                at: Some(now),
                reason: format!("{INTERRUPTED}; tried again now"),
            },
            LogStep::RetryScheduled,
        )
    }
}

/// The log lines of an expired lease: the interruption, then the decision.
pub fn lease_expired_lines(
    now: DateTime<Utc>,
    number: u32,
    decision: &Decision,
    step: LogStep,
) -> [LogEntry; 2] {
    [
        line(
            now,
            LogStep::Interrupted,
            format!(
                "lease expired: attempt {number} was interrupted before its result was recorded"
            ),
        ),
        line(now, step, decision.reason.clone()),
    ]
}

/// An earlier attempt with no row (its worker died first): it retried.
pub fn interrupted_retry(at: DateTime<Utc>) -> Decision {
    Decision {
        action: DecisionAction::Retry,
        at: Some(at),
        reason: INTERRUPTED.into(),
    }
}

/// The request went out.
pub fn request_sent(at: DateTime<Utc>, method: &str, url: &str) -> LogEntry {
    line(at, LogStep::RequestSent, format!("{method} {url}"))
}

/// What an attempt got back.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    pub class: FailureClass,
    /// The response's status, when a response came.
    pub status_code: Option<u16>,
    /// What went wrong when no response came.
    pub error: Option<&'a str>,
}

impl Answer<'_> {
    /// In a few words: "503 server", "rate limited", the error, or "no response".
    pub fn what(&self) -> String {
        match (self.status_code, self.error) {
            (Some(code), _) => format!("{code} {}", self.class.as_str().replace('_', " ")),
            (None, Some(e)) => e.to_string(),
            (None, None) => "no response".into(),
        }
    }

    /// The log line that says what came back and what that means.
    pub fn classified(&self, at: DateTime<Utc>) -> LogEntry {
        line(
            at,
            LogStep::ResponseClassified,
            format!("{}: {}", self.what(), self.class.hint()),
        )
    }

    /// The error the trigger shows until its next attempt; none after a success.
    pub fn last_error(&self) -> Option<LastError> {
        (self.class != FailureClass::Success).then(|| LastError {
            class: self.class,
            message: self.what(),
            status_code: self.status_code,
        })
    }
}

/// What was decided after an attempt.
#[derive(Debug, Clone, Copy)]
pub enum Verdict<'a> {
    Finish { external_id: Option<&'a str> },
    Retry { at: DateTime<Utc> },
    Stop(Stop),
}

/// Why a trigger stops without success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Trying again would fail the same way (or nobody tries again: a reported
    /// call): the class's hint says what to do.
    NotRetryable,
    /// The retry policy allows no more attempts.
    RetriesExhausted,
    /// A manual run that did not ask to resume automatic retries.
    ManualRunFailed,
}

/// Where a verdict leaves the trigger: its status, the decision with its reason,
/// and the log step that ends the attempt.
#[derive(Debug, Clone)]
pub struct Conclusion {
    pub status: Status,
    pub decision: Decision,
    pub step: LogStep,
}

impl Conclusion {
    /// The log line that ends the attempt (the decision's reason).
    pub fn line(&self, at: DateTime<Utc>) -> LogEntry {
        line(at, self.step, self.decision.reason.clone())
    }
}

/// Tell what `answer` led to.
pub fn conclude(answer: &Answer, verdict: Verdict) -> Conclusion {
    let (status, action, at, reason, step) = match verdict {
        Verdict::Finish { external_id } => (
            Status::Finished,
            DecisionAction::Finish,
            None,
            match external_id {
                Some(x) => format!("finished: external id {x}"),
                None => "finished".to_string(),
            },
            LogStep::Finished,
        ),
        Verdict::Retry { at } => (
            Status::Retrying,
            DecisionAction::Retry,
            Some(at),
            format!(
                "retry at {}: {}: {}",
                at.to_rfc3339(),
                answer.what(),
                answer.class.hint()
            ),
            LogStep::RetryScheduled,
        ),
        Verdict::Stop(why) => {
            let why = match why {
                Stop::NotRetryable => answer.class.hint(),
                Stop::RetriesExhausted => "retries exhausted",
                Stop::ManualRunFailed => "manual run failed; automatic retries not resumed",
            };
            (
                Status::Erroneous,
                DecisionAction::Stop,
                None,
                format!("stop: {}: {why}", answer.what()),
                LogStep::Failed,
            )
        }
    };
    Conclusion {
        status,
        decision: Decision { action, at, reason },
        step,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(class: FailureClass, code: Option<u16>, error: Option<&str>) -> Answer<'_> {
        Answer {
            class,
            status_code: code,
            error,
        }
    }

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[test]
    fn a_response_is_told_by_its_code_and_its_class_in_words() {
        let limited = answer(FailureClass::RateLimited, Some(429), None);
        assert_eq!(limited.what(), "429 rate limited");
        assert_eq!(
            limited.classified(at()).message,
            format!("429 rate limited: {}", FailureClass::RateLimited.hint())
        );
        assert_eq!(limited.classified(at()).step, LogStep::ResponseClassified);
        let refused = answer(FailureClass::Network, None, Some("connection refused"));
        assert_eq!(refused.what(), "connection refused");
        assert_eq!(
            answer(FailureClass::Network, None, None).what(),
            "no response"
        );
    }

    #[test]
    fn a_success_finishes_with_its_external_id_and_leaves_no_error() {
        let ok = answer(FailureClass::Success, Some(201), None);
        let c = conclude(
            &ok,
            Verdict::Finish {
                external_id: Some("in_1"),
            },
        );
        assert_eq!(c.status, Status::Finished);
        assert_eq!(c.decision.reason, "finished: external id in_1");
        assert_eq!(c.step, LogStep::Finished);
        assert_eq!(ok.last_error(), None);
        let c = conclude(&ok, Verdict::Finish { external_id: None });
        assert_eq!(c.decision.reason, "finished");
    }

    #[test]
    fn a_retry_names_its_time_what_came_back_and_what_it_means() {
        let down = answer(FailureClass::Server, Some(503), None);
        let c = conclude(&down, Verdict::Retry { at: at() });
        assert_eq!(c.status, Status::Retrying);
        assert_eq!(c.decision.at, Some(at()));
        assert_eq!(
            c.decision.reason,
            format!(
                "retry at {}: 503 server: {}",
                at().to_rfc3339(),
                FailureClass::Server.hint()
            )
        );
        assert_eq!(c.line(at()).step, LogStep::RetryScheduled);
        let e = down.last_error().unwrap();
        assert_eq!(
            (e.message.as_str(), e.status_code),
            ("503 server", Some(503))
        );
    }

    #[test]
    fn a_stop_says_why_no_more_attempts_come() {
        let down = answer(FailureClass::Server, Some(503), None);
        let reason = |why| conclude(&down, Verdict::Stop(why)).decision.reason;
        assert_eq!(
            reason(Stop::RetriesExhausted),
            "stop: 503 server: retries exhausted"
        );
        assert_eq!(
            reason(Stop::ManualRunFailed),
            "stop: 503 server: manual run failed; automatic retries not resumed"
        );
        let invalid = answer(FailureClass::Validation, Some(422), None);
        let c = conclude(&invalid, Verdict::Stop(Stop::NotRetryable));
        assert_eq!(
            c.decision.reason,
            format!("stop: 422 validation: {}", FailureClass::Validation.hint())
        );
        assert_eq!((c.status, c.step), (Status::Erroneous, LogStep::Failed));
        assert_eq!(c.decision.at, None);
    }
}
