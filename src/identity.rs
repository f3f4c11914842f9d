//! WhatsApp identity: JID normalisation and the `/me` check against the expected account.
//! STUB: signatures fixed; the core engineer fills in the bodies.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityVerdict {
    Match,
    Mismatch,
    /// `me` is null or a `@lid` id: it cannot be compared with a phone number.
    Unverifiable,
}

impl IdentityVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityVerdict::Match => "match",
            IdentityVerdict::Mismatch => "mismatch",
            IdentityVerdict::Unverifiable => "unverifiable",
        }
    }
}

/// Drops `:device` suffixes, maps `@s.whatsapp.net` to `@c.us`; a bare phone number
/// (`+20 101-234`, `0020…`) becomes `<digits>@c.us`.
pub fn normalize_jid(jid: &str) -> String {
    jid.trim().to_string()
}

/// `me` is the `/me` id (or None for a null `me`).
pub fn compare_identity(expected: &str, me: Option<&str>) -> IdentityVerdict {
    let _ = (expected, me);
    IdentityVerdict::Unverifiable
}
