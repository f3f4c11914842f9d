//! The optional weekly maintenance window (weekday, hour UTC).

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Maintenance {
    /// 0 = Sunday .. 6 = Saturday (UTC), as `Date.prototype.getUTCDay`.
    pub weekday: u8,
    pub hour_utc: u8,
}

pub(super) const HOUR_MS: f64 = 3_600_000.0;
pub(super) const DAY_MS: f64 = 24.0 * HOUR_MS;

impl Maintenance {
    /// Start of the window that contains `now_ms`, if `now_ms` is inside one.
    pub(super) fn window_containing(self, now_ms: f64) -> Option<f64> {
        let day = (now_ms / DAY_MS).floor();
        // 1970-01-01 was a Thursday (4).
        let weekday = (day + 4.0).rem_euclid(7.0);
        let hour = ((now_ms - day * DAY_MS) / HOUR_MS).floor();
        (weekday == f64::from(self.weekday) && hour == f64::from(self.hour_utc))
            .then_some(day * DAY_MS + hour * HOUR_MS)
    }

    /// Start of the first window strictly after `now_ms`.
    pub(super) fn next_window_after(self, now_ms: f64) -> f64 {
        let day = (now_ms / DAY_MS).floor();
        let weekday = (day + 4.0).rem_euclid(7.0);
        let days_ahead = (f64::from(self.weekday) - weekday).rem_euclid(7.0);
        let candidate = (day + days_ahead) * DAY_MS + f64::from(self.hour_utc) * HOUR_MS;
        if candidate > now_ms {
            candidate
        } else {
            candidate + 7.0 * DAY_MS
        }
    }
}
