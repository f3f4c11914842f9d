#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
//! Retry-After parsing, the backoff formulas and limits, and the retry budget.

mod values;
use values::ToValue;

use wawp_session::ErrorCode;
use wawp_session::backoff::{Backoff, BackoffOptions, Jitter, Rng};
use wawp_session::budget::RetryBudget;
use wawp_session::payload;
use wawp_session::retry_after::{
    MAX_RETRY_AFTER_MS, civil_from_days, days_from_civil, format_http_date, parse_http_date,
    parse_retry_after,
};

/// 1994-11-06T08:49:37Z, the RFC 9110 example date.
const RFC_EXAMPLE_MS: f64 = 784_111_777_000.0;

// ---------------------------------------------------------------------------------------------
// Retry-After

#[test]
fn retry_after_delta_seconds() {
    assert_eq!(parse_retry_after("120", 0.0), Some(120_000.0));
    assert_eq!(parse_retry_after("  0 ", 0.0), Some(0.0));
    assert_eq!(parse_retry_after("1.5", 0.0), Some(1_500.0));
    // Absurd values are capped at one hour.
    assert_eq!(
        parse_retry_after("999999999", 0.0),
        Some(MAX_RETRY_AFTER_MS)
    );
    assert_eq!(MAX_RETRY_AFTER_MS, 3_600_000.0);
}

#[test]
fn retry_after_garbage_is_none() {
    for bad in [
        "",
        "  ",
        "-1",
        "+5",
        "1e3",
        "inf",
        "NaN",
        "infinity",
        "1.",
        ".5",
        "1.2.3",
        "soon",
        "5s",
        "0x10",
        "Sun, 06 Nov 1994 08:49:37 PST",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov  6 08:49:37",
        "Sun, 06 Nov 1994 08:49 GMT",
    ] {
        assert_eq!(parse_retry_after(bad, RFC_EXAMPLE_MS), None, "{bad:?}");
    }
}

#[test]
fn retry_after_accepts_all_three_http_date_forms() {
    let now = RFC_EXAMPLE_MS - 30_000.0;
    for form in [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "sun, 06 nov 1994 08:49:37 gmt",
    ] {
        assert_eq!(parse_http_date(form), Some(RFC_EXAMPLE_MS), "{form}");
        assert_eq!(parse_retry_after(form, now), Some(30_000.0), "{form}");
    }
    // RFC 850 two-digit years below 70 are this century.
    assert_eq!(
        parse_http_date("Wednesday, 01-Jan-25 00:00:00 GMT"),
        Some(1_735_689_600_000.0)
    );
}

#[test]
fn retry_after_date_in_the_past_is_zero_and_far_future_is_capped() {
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", RFC_EXAMPLE_MS + 5_000.0),
        Some(0.0)
    );
    assert_eq!(
        parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", RFC_EXAMPLE_MS),
        Some(MAX_RETRY_AFTER_MS)
    );
    // Without a usable clock a date cannot become a delay.
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", f64::NAN),
        None
    );
}

#[test]
fn leap_days_and_leap_seconds() {
    assert_eq!(
        parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT"),
        Some(1_709_208_000_000.0)
    );
    assert_eq!(parse_http_date("Thu, 29 Feb 2023 12:00:00 GMT"), None);
    assert_eq!(parse_http_date("Tue, 29 Feb 2100 12:00:00 GMT"), None);
    assert!(parse_http_date("Tue, 29 Feb 2000 12:00:00 GMT").is_some());
    assert!(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT").is_some());
}

#[test]
fn civil_day_arithmetic_matches_known_dates() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    assert_eq!(days_from_civil(1969, 12, 31), -1);
    for days in [-800_000i64, -1, 0, 1, 59, 60, 11_016, 19_782, 2_932_896] {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days);
    }
}

#[test]
fn http_date_formatting_round_trips() {
    assert_eq!(
        format_http_date(RFC_EXAMPLE_MS).unwrap(),
        "Sun, 06 Nov 1994 08:49:37 GMT"
    );
    for ms in [0.0, 951_782_400_000.0, 1_735_689_599_000.0, -86_400_000.0] {
        let text = format_http_date(ms).unwrap();
        assert_eq!(parse_http_date(&text), Some(ms), "{text}");
    }
    assert_eq!(format_http_date(f64::INFINITY), None);
    assert_eq!(format_http_date(1e300), None);
}

// ---------------------------------------------------------------------------------------------
// Backoff

fn opts(jitter: Jitter) -> BackoffOptions {
    BackoffOptions {
        base_ms: 100.0,
        cap_ms: 10_000.0,
        factor: 2.0,
        jitter,
        max_attempts: 1_000_000,
        max_elapsed_ms: None,
        seed: Some(7),
    }
}

#[test]
fn options_are_validated() {
    let bad = [
        BackoffOptions {
            base_ms: f64::NAN,
            ..opts(Jitter::Full)
        },
        BackoffOptions {
            base_ms: -1.0,
            ..opts(Jitter::Full)
        },
        BackoffOptions {
            cap_ms: f64::INFINITY,
            ..opts(Jitter::Full)
        },
        BackoffOptions {
            base_ms: 20_000.0,
            ..opts(Jitter::Full)
        },
        BackoffOptions {
            factor: 0.5,
            ..opts(Jitter::Full)
        },
        BackoffOptions {
            factor: f64::NAN,
            ..opts(Jitter::Full)
        },
        BackoffOptions {
            max_elapsed_ms: Some(-5.0),
            ..opts(Jitter::Full)
        },
    ];
    for o in bad {
        assert_eq!(
            Backoff::new(o.clone()).unwrap_err().code,
            ErrorCode::InvalidOption,
            "{o:?}"
        );
    }
    assert!(Backoff::new(BackoffOptions::default()).is_ok());
    assert!(
        Backoff::new(BackoffOptions {
            base_ms: 0.0,
            factor: 1.0,
            ..opts(Jitter::None)
        })
        .is_ok()
    );
}

#[test]
fn options_from_js_object() {
    let v = payload::parse(
        r#"{"baseMs":50,"capMs":500,"factor":3,"jitter":"equal","maxAttempts":4,"maxElapsedMs":null,"seed":9}"#,
    )
    .unwrap();
    let o = BackoffOptions::from_value(&v).unwrap();
    assert_eq!(
        o,
        BackoffOptions {
            base_ms: 50.0,
            cap_ms: 500.0,
            factor: 3.0,
            jitter: Jitter::Equal,
            max_attempts: 4,
            max_elapsed_ms: None,
            seed: Some(9),
        }
    );
    assert_eq!(BackoffOptions::from_value(&o.to_value()).unwrap(), o);
    assert_eq!(
        BackoffOptions::from_value(&serde_json::Value::Null).unwrap(),
        BackoffOptions::default()
    );
    // A fractional seed (straight from Math.random()) is still a seed.
    let v = payload::parse(r#"{"seed":0.123}"#).unwrap();
    assert!(BackoffOptions::from_value(&v).unwrap().seed.is_some());
    for bad in [
        r#"{"jitter":"random"}"#,
        r#"{"maxAttempts":-1}"#,
        r#"{"maxAttempts":2.5}"#,
        r#"{"baseMs":"100"}"#,
        r#"{"capMs":10,"baseMs":20}"#,
        r#"[1]"#,
    ] {
        let err = BackoffOptions::from_value(&payload::parse(bad).unwrap()).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidOption, "{bad}");
    }
}

#[test]
fn no_jitter_is_the_exact_exponential_with_cap() {
    let mut b = Backoff::new(BackoffOptions {
        max_attempts: 10,
        ..opts(Jitter::None)
    })
    .unwrap();
    let delays: Vec<f64> = std::iter::from_fn(|| b.next(None)).collect();
    assert_eq!(
        delays,
        [
            100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 6400.0, 10_000.0, 10_000.0, 10_000.0
        ]
    );
    assert_eq!(b.attempts(), 10);
    assert_eq!(b.next(None), None);
    // Huge attempt numbers saturate at the cap rather than overflowing.
    assert_eq!(opts(Jitter::None).expo(u32::MAX), 10_000.0);
    assert_eq!(
        BackoffOptions {
            factor: 1.0,
            ..opts(Jitter::None)
        }
        .expo(50),
        100.0
    );
}

/// `n` samples of the delay before retry number `attempt`, from one seeded stream.
fn samples(jitter: Jitter, attempt: u32, prev_ms: f64, n: usize) -> Vec<f64> {
    let mut b = Backoff::new(opts(jitter)).unwrap();
    (0..n).map(|_| b.delay_for(attempt, prev_ms)).collect()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

const N: usize = 20_000;

#[test]
fn full_jitter_is_uniform_between_zero_and_expo() {
    let expo = 800.0; // attempt 3
    let xs = samples(Jitter::Full, 3, 0.0, N);
    assert!(xs.iter().all(|&x| (0.0..expo).contains(&x)));
    assert!(
        (mean(&xs) - expo / 2.0).abs() < expo * 0.01,
        "{}",
        mean(&xs)
    );
    // Spread over the whole range, not clustered.
    assert!(xs.iter().any(|&x| x < expo * 0.05));
    assert!(xs.iter().any(|&x| x > expo * 0.95));
}

#[test]
fn equal_jitter_is_uniform_in_the_upper_half() {
    let expo = 800.0;
    let xs = samples(Jitter::Equal, 3, 0.0, N);
    assert!(xs.iter().all(|&x| (expo / 2.0..expo).contains(&x)));
    assert!(
        (mean(&xs) - expo * 0.75).abs() < expo * 0.01,
        "{}",
        mean(&xs)
    );
}

#[test]
fn decorrelated_jitter_is_uniform_between_base_and_three_times_prev() {
    let prev = 1_000.0;
    let xs = samples(Jitter::Decorrelated, 0, prev, N);
    assert!(xs.iter().all(|&x| (100.0..3_000.0).contains(&x)));
    let expected_mean = (100.0 + 3_000.0) / 2.0;
    assert!((mean(&xs) - expected_mean).abs() < expected_mean * 0.01);
    // Capped: with prev = cap, min(cap, uniform(base, 3·cap)) hits the cap 2/3 of the time.
    let capped = samples(Jitter::Decorrelated, 0, 10_000.0, N);
    assert!(capped.iter().all(|&x| (100.0..=10_000.0).contains(&x)));
    let at_cap = capped.iter().filter(|&&x| x == 10_000.0).count() as f64 / N as f64;
    assert!(
        (at_cap - (30_000.0 - 10_000.0) / (30_000.0 - 100.0)).abs() < 0.02,
        "{at_cap}"
    );
}

#[test]
fn decorrelated_sequence_grows_from_base_and_stays_within_cap() {
    let mut b = Backoff::new(opts(Jitter::Decorrelated)).unwrap();
    let mut prev = 100.0;
    for _ in 0..2_000 {
        let d = b.next(None).unwrap();
        assert!(
            d >= 100.0 && d <= 10_000.0 && d <= prev * 3.0,
            "{d} after {prev}"
        );
        prev = d;
    }
}

#[test]
fn seeded_backoffs_are_deterministic_and_seeds_differ() {
    let run = |seed| {
        let mut b = Backoff::new(BackoffOptions {
            seed: Some(seed),
            ..opts(Jitter::Full)
        })
        .unwrap();
        (0..20).map(|_| b.next(None).unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
    let unseeded = || {
        let mut b = Backoff::new(BackoffOptions {
            seed: None,
            ..opts(Jitter::Full)
        })
        .unwrap();
        (0..20).map(|_| b.next(None).unwrap()).collect::<Vec<_>>()
    };
    assert_ne!(unseeded(), unseeded());
}

#[test]
fn retry_after_is_a_floor_never_undercut() {
    for jitter in [
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ] {
        let mut b = Backoff::new(opts(jitter)).unwrap();
        for i in 0..500 {
            let floor = f64::from(i % 7) * 900.0;
            let d = b.next(Some(floor)).unwrap();
            assert!(d >= floor, "{jitter:?}: {d} < {floor}");
        }
        // The floor may exceed the cap: the server knows best.
        assert_eq!(b.next(Some(50_000.0)), Some(50_000.0));
        // Hostile floors are ignored, not propagated.
        assert!(b.next(Some(f64::NAN)).unwrap().is_finite());
        assert!(b.next(Some(-10.0)).unwrap() >= 0.0);
    }
}

#[test]
fn exhausted_after_max_attempts_until_reset() {
    let mut b = Backoff::new(BackoffOptions {
        max_attempts: 3,
        ..opts(Jitter::Full)
    })
    .unwrap();
    assert!(b.next(None).is_some());
    assert!(b.next(None).is_some());
    assert!(b.next(None).is_some());
    assert_eq!(b.next(None), None);
    assert!(b.is_exhausted());
    b.reset();
    assert_eq!(b.attempts(), 0);
    assert!(b.next(None).is_some());
    let mut zero = Backoff::new(BackoffOptions {
        max_attempts: 0,
        ..opts(Jitter::Full)
    })
    .unwrap();
    assert_eq!(zero.next(None), None);
}

#[test]
fn exhausted_once_the_sum_of_delays_would_exceed_max_elapsed() {
    let mut b = Backoff::new(BackoffOptions {
        max_elapsed_ms: Some(1_000.0),
        ..opts(Jitter::None)
    })
    .unwrap();
    // 100 + 200 + 400 = 700; the next 800 would make 1500 > 1000.
    assert_eq!(b.next(None), Some(100.0));
    assert_eq!(b.next(None), Some(200.0));
    assert_eq!(b.next(None), Some(400.0));
    assert_eq!(b.next(None), None);
    assert_eq!(b.elapsed_ms(), 700.0);
    assert_eq!(b.next(None), None, "stays exhausted");
    b.reset();
    assert_eq!(b.next(None), Some(100.0));
    // A Retry-After that does not fit the remaining time also exhausts it.
    let mut b = Backoff::new(BackoffOptions {
        max_elapsed_ms: Some(1_000.0),
        ..opts(Jitter::None)
    })
    .unwrap();
    assert_eq!(b.next(Some(5_000.0)), None);
}

#[test]
fn state_round_trips_and_continues_identically() {
    let mut a = Backoff::new(opts(Jitter::Decorrelated)).unwrap();
    for _ in 0..5 {
        a.next(None);
    }
    let text = a.to_value().to_string();
    let mut b = Backoff::from_value(&payload::parse(&text).unwrap()).unwrap();
    assert_eq!(a, b);
    for _ in 0..10 {
        assert_eq!(a.next(Some(150.0)), b.next(Some(150.0)));
    }
    for bad in [
        r#"{}"#,
        r#"{"options":{},"attempts":-1,"elapsedMs":0,"prevMs":0,"exhausted":false,"rng":"1"}"#,
    ] {
        assert_eq!(
            Backoff::from_value(&payload::parse(bad).unwrap())
                .unwrap_err()
                .code,
            ErrorCode::InvalidPayload
        );
    }
}

#[test]
fn rng_is_uniform_in_unit_interval() {
    let mut rng = Rng::new(1);
    let mut buckets = [0usize; 10];
    for _ in 0..N {
        let x = rng.next_f64();
        assert!((0.0..1.0).contains(&x));
        buckets[(x * 10.0) as usize] += 1;
    }
    for count in buckets {
        assert!(
            (count as f64 - N as f64 / 10.0).abs() < N as f64 * 0.01,
            "{buckets:?}"
        );
    }
    // SplitMix64 reference value (seed 0, first output), from the published C code.
    assert_eq!(Rng::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
}

// ---------------------------------------------------------------------------------------------
// Retry budget

#[test]
fn budget_spends_refuses_and_refills_over_time() {
    let mut b = RetryBudget::with_options(10.0, 1.0, 0.0).unwrap();
    assert!(b.try_spend(5.0, 0.0));
    assert!(b.try_spend(5.0, 0.0));
    assert!(!b.try_spend(5.0, 1_000.0), "only 1 token after 1 s");
    assert_eq!(b.available(3_000.0), 3.0);
    assert_eq!(b.wait_ms(5.0, 3_000.0), Some(2_000.0));
    assert!(b.try_spend(5.0, 5_000.0));
    // Never above the capacity, however long it rests.
    assert_eq!(b.available(1e12), 10.0);
    assert_eq!(b.wait_ms(11.0, 0.0), None);
    assert!(!b.try_spend(-1.0, 5_000.0));
    assert!(!b.try_spend(f64::NAN, 5_000.0));
}

#[test]
fn budget_ignores_clocks_that_go_backwards() {
    let mut b = RetryBudget::with_options(10.0, 1.0, 0.0).unwrap();
    assert!(b.try_spend(10.0, 10_000.0));
    b.refill(5_000.0);
    assert_eq!(b.tokens, 0.0);
    assert_eq!(b.last_ms, Some(10_000.0));
    b.refill(f64::NAN);
    assert_eq!(b.available(12_000.0), 2.0);
}

#[test]
fn budget_success_deposit_and_no_refill() {
    let mut b = RetryBudget::with_options(500.0, 0.0, 1.0).unwrap();
    for _ in 0..100 {
        assert!(b.try_spend(5.0, 0.0));
    }
    assert!(!b.try_spend(5.0, 1e9), "no time refill configured");
    assert_eq!(b.wait_ms(5.0, 0.0), None);
    for _ in 0..5 {
        b.record_success(0.0);
    }
    assert!(b.try_spend(5.0, 0.0));
}

#[test]
fn budget_storm_is_bounded() {
    // 100 instances failing every second for 10 minutes share one budget: the number of
    // automatic restarts is bounded by capacity + refill, not by the number of failures.
    let mut b = RetryBudget::with_options(20.0, 0.5, 0.0).unwrap();
    let mut granted = 0;
    for second in 0..600 {
        for _ in 0..100 {
            if b.try_spend(1.0, f64::from(second) * 1000.0) {
                granted += 1;
            }
        }
    }
    assert!(granted <= 20 + 300, "{granted}");
    assert!(granted >= 300, "{granted}");
}

#[test]
fn budget_validation_and_persistence() {
    for (c, r, d) in [
        (f64::NAN, 1.0, 0.0),
        (-1.0, 1.0, 0.0),
        (1.0, f64::INFINITY, 0.0),
        (1.0, 1.0, -1.0),
    ] {
        assert_eq!(
            RetryBudget::with_options(c, r, d).unwrap_err().code,
            ErrorCode::InvalidOption
        );
    }
    let mut b = RetryBudget::with_options(10.0, 0.25, 1.0).unwrap();
    b.try_spend(3.5, 1_234.0);
    let back =
        RetryBudget::from_value(&payload::parse(&b.to_value().to_string()).unwrap()).unwrap();
    assert_eq!(back, b);
    let fresh = RetryBudget::new(3.0, 1.0);
    assert_eq!(RetryBudget::from_value(&fresh.to_value()).unwrap(), fresh);
    for bad in [
        r#"{}"#,
        r#"{"capacity":1,"tokens":2,"refillPerSec":1,"lastMs":null}"#,
        r#"{"capacity":1,"tokens":1,"refillPerSec":-1,"lastMs":null}"#,
        r#"{"capacity":1,"tokens":1,"refillPerSec":1,"lastMs":"x"}"#,
    ] {
        assert_eq!(
            RetryBudget::from_value(&payload::parse(bad).unwrap())
                .unwrap_err()
                .code,
            ErrorCode::InvalidPayload,
            "{bad}"
        );
    }
}
