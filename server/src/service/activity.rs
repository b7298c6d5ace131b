//! The log's activity chart: attempts per hour (or day) by outcome, for the
//! triggers a caller's filter matches and the caller may see.

use app::domain::{ActivityWindow, TriggerActivity, TriggerFilter, MAX_UTC_OFFSET_MINUTES};

use super::{Permission, Principal, Service, ServiceError};

impl Service {
    /// The attempts of the last day (hour by hour) or week (day by day) ending
    /// now, cut at the hours and midnights of a clock `utc_offset_minutes` east
    /// of UTC (the reader's).
    pub async fn trigger_activity(
        &self,
        who: &Principal,
        filter: TriggerFilter,
        window: ActivityWindow,
        utc_offset_minutes: i32,
    ) -> Result<TriggerActivity, ServiceError> {
        who.require(Permission::Read)?;
        if !(-MAX_UTC_OFFSET_MINUTES..=MAX_UTC_OFFSET_MINUTES).contains(&utc_offset_minutes) {
            return Err(ServiceError::invalid(
                "utc_offset_minutes",
                format!(
                    "utc_offset_minutes is minutes east of UTC, \
                     -{MAX_UTC_OFFSET_MINUTES} to {MAX_UTC_OFFSET_MINUTES}"
                ),
            ));
        }
        let filter = self.resolve_filter(who, filter).await?;
        let start = window.start(crate::clock::now(), utc_offset_minutes);
        let counts = self
            .store
            .reads()
            .attempt_activity(&filter, start, window.bucket(), window.buckets())
            .await?;
        Ok(TriggerActivity::new(window, start, counts))
    }
}
