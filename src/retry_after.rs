//! `Retry-After`: delta-seconds or an HTTP-date, to a delay in milliseconds from `now_ms`.
//!
//! RFC 9110 §10.2.3: `Retry-After = HTTP-date / delay-seconds`; an HTTP-date is the IMF-fixdate
//! `Sun, 06 Nov 1994 08:49:37 GMT`, and recipients also accept the obsolete RFC 850
//! `Sunday, 06-Nov-94 08:49:37 GMT` and asctime `Sun Nov  6 08:49:37 1994` forms.
//!
//! Hand-written, not the `httpdate` crate (1.0.3), on purpose: measured, `httpdate` added 3.5 KB
//! gzip to the package's wasm (63,064 → 66,546 B, its own parser replacing this one), and it is
//! stricter than RFC 9110 asks of recipients in ways the tests pin down: it refuses lower-case
//! names, a weekday that does not match the date, the leap second `:60` and years before 1970
//! (and its `SystemTime` formatting panics out of range). The calendar arithmetic is
//! H. Hinnant's days-from-civil.

/// Longest delay we honour: a server asking for more than an hour is misconfigured or hostile,
/// and a session must not sit idle for a day because of one header.
pub const MAX_RETRY_AFTER_MS: f64 = 3_600_000.0;

/// `None` for missing / unparseable values; a date in the past gives `Some(0.0)`; delays are
/// capped at [`MAX_RETRY_AFTER_MS`].
pub fn parse_retry_after(value: &str, now_ms: f64) -> Option<f64> {
    let value = value.trim();
    let delay_ms = match parse_delay_seconds(value) {
        Some(seconds) => seconds * 1000.0,
        None => {
            if !now_ms.is_finite() {
                return None;
            }
            (parse_http_date(value)? - now_ms).max(0.0)
        }
    };
    Some(delay_ms.min(MAX_RETRY_AFTER_MS))
}

/// `120`, tolerating a fraction (`1.5`) that some servers send; no sign, no exponent.
fn parse_delay_seconds(value: &str) -> Option<f64> {
    let (int, frac) = match value.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (value, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    // serde_json's number reader (already in the wasm for JSON text) instead of `str::parse`,
    // whose float parser would add ~14 KB to the wasm. Digits and one dot are valid JSON once
    // leading zeros are gone (JSON refuses `007`).
    let int = match int.trim_start_matches('0') {
        "" => "0",
        rest => rest,
    };
    let literal = match frac {
        Some(frac) => format!("{int}.{frac}"),
        None => int.to_string(),
    };
    serde_json::from_str::<serde_json::Value>(&literal)
        .ok()
        .and_then(|n| n.as_f64())
        .filter(|s| s.is_finite())
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const LONG_WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse: `(year, month 1..=12, day 1..=31)` of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn month_number(name: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(name))
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn number(text: &str, min_len: usize, max_len: usize) -> Option<u32> {
    if text.len() < min_len || text.len() > max_len || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `HH:MM:SS` → seconds of the day (a leap second `:60` is accepted, as RFC 9110 allows).
fn time_of_day(text: &str) -> Option<i64> {
    let mut parts = text.split(':');
    let h = number(parts.next()?, 2, 2)?;
    let m = number(parts.next()?, 2, 2)?;
    let s = number(parts.next()?, 2, 2)?;
    if parts.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(i64::from(h * 3600 + m * 60 + s))
}

fn epoch_ms(year: i64, month: u32, day: u32, seconds_of_day: i64) -> Option<f64> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let ms = days_from_civil(year, month, day) * MS_PER_DAY + seconds_of_day * 1000;
    Some(ms as f64)
}

/// An HTTP-date in any of the three forms → epoch milliseconds. The weekday must be a weekday
/// name but is not checked against the date (senders get it wrong; the date is what counts).
pub fn parse_http_date(value: &str) -> Option<f64> {
    let value = value.trim();
    let (weekday, rest) = match value.split_once(',') {
        Some((weekday, rest)) => (weekday.trim(), Some(rest)),
        None => (value.split(' ').next().unwrap_or(""), None),
    };
    let known = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(weekday));
    match rest {
        // IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
        Some(rest) if known(&WEEKDAYS) => {
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let [day, month, year, time, zone] = fields.as_slice() else {
                return None;
            };
            if !zone.eq_ignore_ascii_case("GMT") {
                return None;
            }
            let year = i64::from(number(year, 4, 4)?);
            epoch_ms(
                year,
                month_number(month)?,
                number(day, 1, 2)?,
                time_of_day(time)?,
            )
        }
        // RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`
        Some(rest) if known(&LONG_WEEKDAYS) => {
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let [date, time, zone] = fields.as_slice() else {
                return None;
            };
            if !zone.eq_ignore_ascii_case("GMT") {
                return None;
            }
            let mut parts = date.split('-');
            let day = number(parts.next()?, 1, 2)?;
            let month = month_number(parts.next()?)?;
            let yy = i64::from(number(parts.next()?, 2, 2)?);
            if parts.next().is_some() {
                return None;
            }
            // Two-digit years: 70..99 are 1970..1999, 00..69 are 2000..2069 (a fixed pivot
            // instead of RFC 9110's "50 years in the future" rule, which needs a clock).
            let year = if yy >= 70 { 1900 + yy } else { 2000 + yy };
            epoch_ms(year, month, day, time_of_day(time)?)
        }
        Some(_) => None,
        // asctime: `Sun Nov  6 08:49:37 1994`
        None => {
            if !known(&WEEKDAYS) {
                return None;
            }
            let fields: Vec<&str> = value.split_whitespace().collect();
            let [_, month, day, time, year] = fields.as_slice() else {
                return None;
            };
            let year = i64::from(number(year, 4, 4)?);
            epoch_ms(
                year,
                month_number(month)?,
                number(day, 1, 2)?,
                time_of_day(time)?,
            )
        }
    }
}

/// Epoch milliseconds → IMF-fixdate (whole seconds, rounded down); the writer side of
/// [`parse_http_date`], used by the simulator and tests.
pub fn format_http_date(epoch_ms: f64) -> Option<String> {
    if !epoch_ms.is_finite() {
        return None;
    }
    let total_seconds = (epoch_ms / 1000.0).floor();
    // Four-digit years only (IMF-fixdate has no room for more).
    if !(-62_135_596_800.0..=253_402_300_799.0).contains(&total_seconds) {
        return None;
    }
    let total_seconds = total_seconds as i64;
    let days = total_seconds.div_euclid(86_400);
    let secs = total_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let weekday = WEEKDAYS.get(usize::try_from((days + 4).rem_euclid(7)).ok()?)?;
    let month_name = MONTHS.get(usize::try_from(month).ok()?.checked_sub(1)?)?;
    Some(format!(
        "{weekday}, {day:02} {month_name} {year:04} {:02}:{:02}:{:02} GMT",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    ))
}
