#![no_main]
//! The JSON reader: never panics; what it accepts, its writer reproduces exactly.
use libfuzzer_sys::fuzz_target;
use wawp_session::json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(value) = json::parse(text) {
        let again = json::parse(&value.to_json()).expect("the writer's output parses");
        assert_eq!(again.to_json(), value.to_json());
    }
});
