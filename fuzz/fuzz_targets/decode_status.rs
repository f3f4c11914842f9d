#![no_main]
//! Status strings, info responses, both webhook shapes and arrays: never a panic; a decoded
//! report survives its own JSON form (the `StatusReport` a host may feed back in).
use libfuzzer_sys::fuzz_target;
use wawp_session::{SessionStatus, decode_status_text};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(report) = decode_status_text(&text) {
        let again = decode_status_text(&report.to_json()).expect("a report decodes again");
        assert_eq!(again.status, report.status);
        assert_eq!(again.instance_id, report.instance_id);
        assert_eq!(again.me, report.me);
        assert_eq!(report.status == SessionStatus::Unknown, report.status.ui_action().as_str() == "inspect");
    }
});
