//! The access token (Wawp `access_token`, WAHA `X-Api-Key`) and every token this client held
//! before: all of them, in every form they travel in, are cut out of every error it returns.

use crate::error::WawpError;
use crate::http::{percent_encode, redact_known, replace_all};

/// Rotated-away tokens kept for redaction; rotation is rare, the cap only bounds a pathological
/// caller.
const MAX_REMEMBERED_TOKENS: usize = 64;

pub(super) struct Credentials {
    /// Oldest first; the last one is current. Never empty once constructed.
    tokens: Vec<String>,
}

impl Credentials {
    pub(super) fn new(token: String) -> Credentials {
        Credentials {
            tokens: vec![token],
        }
    }

    pub(super) fn current(&self) -> &str {
        self.tokens.last().map_or("", String::as_str)
    }

    /// Rotation: `token` becomes current, the old ones stay on the redaction list.
    pub(super) fn rotate(&mut self, token: String) {
        self.tokens.retain(|t| *t != token);
        self.tokens.push(token);
        let excess = self.tokens.len().saturating_sub(MAX_REMEMBERED_TOKENS);
        self.tokens.drain(..excess);
    }

    /// The error with every known token removed from its message, in each spelling a server may
    /// echo: raw, as this client encoded it in the query, as `encodeURIComponent` and as a form
    /// (`+` for spaces) would have encoded it.
    pub(super) fn redact(&self, mut error: WawpError) -> WawpError {
        // Longest first, so a token inside a longer one is not left half-redacted (insertion,
        // not `sort`: the sort code would weigh more than the list ever holds).
        let mut secrets: Vec<String> = Vec::with_capacity(self.tokens.len() * 4);
        for token in &self.tokens {
            let encoded = percent_encode(token);
            // encodeURIComponent leaves `!'()*` as they are; this client's encoding does not.
            let component = [
                ("%21", "!"),
                ("%27", "'"),
                ("%28", "("),
                ("%29", ")"),
                ("%2A", "*"),
            ]
            .iter()
            .fold(encoded.clone(), |text, (from, to)| {
                replace_all(&text, from, to)
            });
            let form = replace_all(&encoded, "%20", "+");
            for secret in [token.clone(), encoded, component, form] {
                if !secrets.contains(&secret) {
                    let at = secrets.partition_point(|s| s.len() >= secret.len());
                    secrets.insert(at, secret);
                }
            }
        }
        // The message is the only text an error carries (`op` is an operation name).
        error.message = redact_known(&error.message, &secrets);
        error
    }
}
