#![no_main]
//! JIDs: normalisation is idempotent, a JID always matches itself unless unverifiable, and a
//! `@lid` JID (server part `lid`, after the last `@`) on either side is never a mismatch.
use libfuzzer_sys::fuzz_target;
use wawp_session::{IdentityVerdict, compare_identity, normalize_jid};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (a, b) = text.split_once('|').unwrap_or((&text, ""));
    let once = normalize_jid(a);
    assert_eq!(normalize_jid(&once), once);
    assert_ne!(compare_identity(a, Some(a)), IdentityVerdict::Mismatch);
    let is_lid = |jid: &str| jid.trim().rsplit_once('@').is_some_and(|(_, server)| server.trim().eq_ignore_ascii_case("lid"));
    if is_lid(a) || is_lid(b) {
        assert_ne!(compare_identity(a, Some(b)), IdentityVerdict::Mismatch);
    }
    assert_eq!(compare_identity(a, None), IdentityVerdict::Unverifiable);
});
