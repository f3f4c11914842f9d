//! WhatsApp identity: JID normalisation and the `/me` check against the expected account.
//!
//! A JID is `user[:device]@server`. The same phone account shows up as `201012345678@c.us`
//! (WAHA `/me` id), `201012345678:12@s.whatsapp.net` (the device JID) or, since 2024, as an
//! opaque `@lid` id that cannot be related to a phone number without a lookup.

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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

    pub fn parse(s: &str) -> Option<IdentityVerdict> {
        [
            IdentityVerdict::Match,
            IdentityVerdict::Mismatch,
            IdentityVerdict::Unverifiable,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

const USER_SERVER: &str = "c.us";
const DEVICE_SERVER: &str = "s.whatsapp.net";
const LID_SERVER: &str = "lid";
const GROUP_SERVER: &str = "g.us";

/// Characters people put in phone numbers besides digits.
fn is_phone_punctuation(c: char) -> bool {
    matches!(c, '+' | ' ' | '-' | '(' | ')' | '.' | '/' | '\u{a0}')
}

/// A phone number as the API wants it: digits only, country code first, no `+` or `00`
/// international prefix (`+20 101 234-5678` and `0020 101 234 5678` → `201012345678`).
/// `None` when the text is not a phone number (letters, no digits).
pub fn normalize_phone(phone: &str) -> Option<String> {
    let trimmed = phone.trim();
    if !trimmed
        .chars()
        .all(|c| c.is_ascii_digit() || is_phone_punctuation(c))
    {
        return None;
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let plus = trimmed.starts_with('+');
    let without_prefix = if plus {
        digits.as_str()
    } else {
        digits.strip_prefix("00").unwrap_or(&digits)
    };
    let national = without_prefix.trim_start_matches('0');
    if national.is_empty() {
        None
    } else {
        Some(without_prefix.to_string())
    }
}

/// Splits `user@server` into its parts, the server lower-cased; `None` without an `@`.
fn split_jid(jid: &str) -> Option<(&str, String)> {
    let (user, server) = jid.rsplit_once('@')?;
    Some((user.trim(), server.trim().to_ascii_lowercase()))
}

/// Drops `:device` suffixes, maps `@s.whatsapp.net` to `@c.us`; a bare phone number
/// (`+20 101-234`, `0020…`) becomes `<digits>@c.us`. `@lid` and `@g.us` ids keep their
/// server; anything else that is not a phone number is returned trimmed.
pub fn normalize_jid(jid: &str) -> String {
    let trimmed = jid.trim();
    let Some((user, server)) = split_jid(trimmed) else {
        return match normalize_phone(trimmed) {
            Some(digits) => format!("{digits}@{USER_SERVER}"),
            None => trimmed.to_string(),
        };
    };
    if server == GROUP_SERVER {
        return format!("{user}@{server}");
    }
    // `user:device` → `user`.
    let user = user.split(':').next().unwrap_or(user).trim_end();
    let server = if server == DEVICE_SERVER {
        USER_SERVER.to_string()
    } else {
        server
    };
    // `+20101…@c.us` is a typing slip for `20101…@c.us`.
    let user = if server == USER_SERVER {
        // "+ 20 10…": the plus and the blanks around it go together (normalising twice changes nothing).
        user.trim_start_matches(|c: char| c == '+' || c.is_whitespace())
    } else {
        user
    };
    format!("{user}@{server}")
}

/// `compareIdentity`: `me` is the `/me` id (or None for a null `me`). A null `me`, an empty id
/// or a `@lid` id on either side is `Unverifiable`, never `Mismatch`: LIDs are not phone
/// numbers, and a session that is not WORKING has no `me` yet.
pub fn compare_identity(expected: &str, me: Option<&str>) -> IdentityVerdict {
    let Some(me) = me.map(str::trim).filter(|m| !m.is_empty()) else {
        return IdentityVerdict::Unverifiable;
    };
    let expected = normalize_jid(expected);
    let me = normalize_jid(me);
    if expected.is_empty() {
        return IdentityVerdict::Unverifiable;
    }
    let lid = |jid: &str| split_jid(jid).is_some_and(|(_, server)| server == LID_SERVER);
    if lid(&expected) || lid(&me) {
        return IdentityVerdict::Unverifiable;
    }
    if expected == me {
        IdentityVerdict::Match
    } else {
        IdentityVerdict::Mismatch
    }
}
