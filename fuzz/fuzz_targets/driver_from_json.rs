#![no_main]
//! `SessionDriver.fromJSON` on hostile stored drivers (and bare machine snapshots): a typed error,
//! or a driver whose own JSON round-trips, that takes any event and `restored()` without a panic.
use libfuzzer_sys::fuzz_target;
use wawp_session::driver::{DriverEvent, SessionDriver};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(mut driver) = SessionDriver::from_json(&text) {
        let json = driver.to_json();
        let again = SessionDriver::from_json(&json).expect("own stored form restores");
        assert_eq!(again.to_json(), json);
        driver.restored(1.0e12);
        while driver.poll_effect().is_some() {}
        let _ = driver.view();
    }
    // The same bytes as an event for a fresh driver: a typed error or a handled event.
    if let Ok(event) = DriverEvent::from_json(&text) {
        let mut driver = SessionDriver::new(Default::default());
        driver.handle(event, 1.0e12);
        while driver.poll_effect().is_some() {}
        assert!(driver.poll_timeout().is_none_or(f64::is_finite));
    }
});
