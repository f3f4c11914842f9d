#![no_main]
//! `fromJSON` on hostile snapshots: a typed error or a machine whose own JSON round-trips.
use libfuzzer_sys::fuzz_target;
use wawp_session::LifecycleMachine;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(machine) = LifecycleMachine::from_json(&text) {
        let json = machine.to_json();
        let again = LifecycleMachine::from_json(&json).expect("own snapshot restores");
        assert_eq!(again.to_json(), json);
    }
});
