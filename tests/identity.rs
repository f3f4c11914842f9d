#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use wawp_session::identity::{IdentityVerdict, compare_identity, normalize_jid, normalize_phone};

#[test]
fn device_suffix_and_server_are_normalised() {
    assert_eq!(
        normalize_jid("201012345678:12@s.whatsapp.net"),
        "201012345678@c.us"
    );
    assert_eq!(normalize_jid("  201012345678@c.us \n"), "201012345678@c.us");
    assert_eq!(
        normalize_jid("201012345678@S.WhatsApp.Net"),
        "201012345678@c.us"
    );
    assert_eq!(normalize_jid("201012345678:3@c.us"), "201012345678@c.us");
    assert_eq!(normalize_jid("+201012345678@c.us"), "201012345678@c.us");
}

#[test]
fn bare_phone_numbers_become_user_jids() {
    assert_eq!(normalize_jid("+20 101 234-5678"), "201012345678@c.us");
    assert_eq!(normalize_jid("0020 101 234 5678"), "201012345678@c.us");
    assert_eq!(normalize_jid("(20) 101.234.5678"), "201012345678@c.us");
    assert_eq!(normalize_jid("201012345678"), "201012345678@c.us");
}

#[test]
fn lid_and_group_ids_keep_their_server() {
    assert_eq!(normalize_jid("123123@lid"), "123123@lid");
    assert_eq!(normalize_jid("123123:7@lid"), "123123@lid");
    assert_eq!(
        normalize_jid("120363025246125486@g.us"),
        "120363025246125486@g.us"
    );
}

#[test]
fn non_phone_text_is_only_trimmed() {
    assert_eq!(normalize_jid("  not a number "), "not a number");
    assert_eq!(normalize_jid(""), "");
    assert_eq!(normalize_jid("+"), "+");
}

#[test]
fn phone_normalisation_for_pairing_codes() {
    assert_eq!(
        normalize_phone("+20 114 520 2826").as_deref(),
        Some("201145202826")
    );
    assert_eq!(
        normalize_phone("00201145202826").as_deref(),
        Some("201145202826")
    );
    assert_eq!(
        normalize_phone("201145202826").as_deref(),
        Some("201145202826")
    );
    assert_eq!(normalize_phone("12-ab"), None);
    assert_eq!(normalize_phone("  "), None);
    assert_eq!(normalize_phone("000"), None);
}

#[test]
fn compare_identity_matches_across_jid_forms() {
    assert_eq!(
        compare_identity("+20 101 234 5678", Some("201012345678:4@s.whatsapp.net")),
        IdentityVerdict::Match
    );
    assert_eq!(
        compare_identity("201012345678@c.us", Some("201012345678@c.us")),
        IdentityVerdict::Match
    );
    assert_eq!(
        compare_identity("201012345678", Some("201099999999@c.us")),
        IdentityVerdict::Mismatch
    );
}

#[test]
fn null_me_and_lids_are_unverifiable_never_mismatch() {
    assert_eq!(
        compare_identity("201012345678", None),
        IdentityVerdict::Unverifiable
    );
    assert_eq!(
        compare_identity("201012345678", Some("  ")),
        IdentityVerdict::Unverifiable
    );
    assert_eq!(
        compare_identity("201012345678", Some("99999@lid")),
        IdentityVerdict::Unverifiable
    );
    assert_eq!(
        compare_identity("99999@lid", Some("201012345678@c.us")),
        IdentityVerdict::Unverifiable
    );
    assert_eq!(
        compare_identity("", Some("1@c.us")),
        IdentityVerdict::Unverifiable
    );
}

#[test]
fn verdict_names_round_trip() {
    for v in [
        IdentityVerdict::Match,
        IdentityVerdict::Mismatch,
        IdentityVerdict::Unverifiable,
    ] {
        assert_eq!(IdentityVerdict::parse(v.as_str()), Some(v));
    }
    assert_eq!(IdentityVerdict::parse("MATCH"), None);
}
