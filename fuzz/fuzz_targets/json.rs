#![no_main]
//! JSON text in (`payload::parse`: serde_json with the crate's limits and lone-surrogate repair):
//! never panics; what it accepts, serde_json writes back to text that reads as the same value.
use libfuzzer_sys::fuzz_target;
use wawp_session::payload;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(value) = payload::parse(text) {
        let written = serde_json::to_string(&value).expect("a value writes");
        let again = payload::parse(&written).expect("the writer's output parses");
        assert_eq!(again, value);
    }
});
