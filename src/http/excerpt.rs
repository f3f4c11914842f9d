//! Safe excerpts of response bodies for error messages: markup stripped, whitespace folded,
//! credentials redacted, length capped.

/// Longest excerpt of a body quoted in an error message.
pub const MAX_EXCERPT_CHARS: usize = 160;
/// How much of a non-JSON body is scanned for the excerpt (HTML pages put a lot before text).
pub(super) const SCAN_BYTES: usize = 64 * 1024;

/// Plain text of an HTML / XML / text body: tags (and `<script>`/`<style>` contents) removed,
/// common entities decoded, whitespace folded. Linear in the body length.
pub(super) fn strip_markup(body: &str) -> String {
    // Same byte offsets as `body`: ASCII lower-casing never changes lengths.
    let lower = body.to_ascii_lowercase();
    let mut out = String::new();
    let mut pos = 0;
    while let Some(lt) = lower.get(pos..).and_then(|r| r.find('<')).map(|i| pos + i) {
        out.push_str(body.get(pos..lt).unwrap_or(""));
        out.push(' ');
        let Some(gt) = lower.get(lt..).and_then(|r| r.find('>')).map(|i| lt + i) else {
            pos = body.len();
            break;
        };
        let tag = lower.get(lt + 1..gt).unwrap_or("").trim_start();
        pos = gt + 1;
        for hidden in ["script", "style"] {
            let opens = tag.strip_prefix(hidden).is_some_and(|after| {
                after
                    .bytes()
                    .next()
                    .is_none_or(|b| !b.is_ascii_alphanumeric())
            });
            if opens {
                let close = format!("</{hidden}");
                pos = lower
                    .get(pos..)
                    .and_then(|r| find_bytes(r, &close))
                    .map_or(body.len(), |i| pos + i);
            }
        }
    }
    out.push_str(body.get(pos..).unwrap_or(""));
    fold_whitespace(&decode_entities(&out))
}

/// Runs of whitespace become one space, ends trimmed (`split_whitespace().join(" ")` without
/// the slice-join machinery in the wasm).
pub(super) fn fold_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Byte-wise substring search. `str::find(&str)` brings the Two-Way searcher and its slicing
/// panics into the wasm (~3 KB); the haystacks here are short excerpts.
pub(super) fn find_bytes(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    if needle.is_empty() {
        return Some(0);
    }
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The common named entities and every numeric one (`&#39;`, `&#x27;`); anything else is left
/// as written.
pub(super) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or(""));
        let after = rest.get(amp + 1..).unwrap_or("");
        // Entities are short: look for the `;` within a few characters only.
        let semi = after.get(..after.len().min(10)).and_then(|s| s.find(';'));
        let decoded = semi.and_then(|semi| {
            let name = after.get(..semi)?;
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => ' ',
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse::<u32>().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = after.get(semi + 1..).unwrap_or("");
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Names whose values are credentials wherever they show up (`access_token=…`, `"apiKey": "…"`,
/// `X-Api-Key: …`, `Bearer …`).
pub(super) const SECRET_KEYS: [&str; 12] = [
    "access_token",
    "access-token",
    "accesstoken",
    "api_key",
    "api-key",
    "apikey",
    "x-api-key",
    "token",
    "secret",
    "password",
    "authorization",
    "bearer",
];
pub(super) const REDACTED: &str = "[redacted]";

/// Replaces the value after every credential-looking key with `[redacted]`.
pub fn redact_secrets(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    // (start, end) byte ranges of values to hide.
    let mut hide: Vec<(usize, usize)> = Vec::new();
    for key in SECRET_KEYS {
        let mut from = 0;
        while let Some(found) = lower.get(from..).and_then(|l| find_bytes(l, key)) {
            let start = from + found;
            let mut pos = start + key.len();
            from = pos;
            // No word-boundary check before the key: `xaccess_token=…` still hides the value
            // (over-redacting is harmless, a leak is not).
            let skip = |pos: &mut usize, set: &[u8]| {
                while bytes.get(*pos).is_some_and(|b| set.contains(b)) {
                    *pos += 1;
                }
            };
            skip(&mut pos, b"\"'");
            skip(&mut pos, b" \t");
            let separated = match bytes.get(pos) {
                Some(b'=' | b':') => {
                    pos += 1;
                    true
                }
                // `Bearer abc`: the value follows after blanks.
                Some(_) => key == "bearer" && pos > start + key.len(),
                None => false,
            };
            if !separated {
                continue;
            }
            skip(&mut pos, b" \t");
            skip(&mut pos, b"\"'");
            let value_start = pos;
            while bytes.get(pos).is_some_and(|b| {
                !matches!(
                    b,
                    b' ' | b'\t' | b'\n' | b'\r' | b'&' | b'"' | b'\'' | b',' | b';'
                ) && !matches!(b, b'<' | b'>' | b'}' | b')' | b']')
            }) {
                pos += 1;
            }
            // `Authorization: Bearer xyz` hides the credential after the scheme as well.
            if key == "authorization"
                && lower
                    .get(value_start..pos)
                    .is_some_and(|scheme| scheme == "bearer" || scheme == "basic")
            {
                skip(&mut pos, b" \t");
                while bytes.get(pos).is_some_and(|b| !b.is_ascii_whitespace()) {
                    pos += 1;
                }
            }
            if pos > value_start {
                // Kept sorted by insertion: `sort_unstable` would link ~2 KB gzip of sort code.
                let at = hide.partition_point(|r| *r <= (value_start, pos));
                hide.insert(at, (value_start, pos));
                // Keys inside a hidden value need no second look (and rescanning them would
                // make `access_token=access_token=…` quadratic).
                from = pos;
            }
        }
    }
    if hide.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in hide {
        if start < copied {
            copied = copied.max(end);
            continue;
        }
        out.push_str(text.get(copied..start).unwrap_or(""));
        out.push_str(REDACTED);
        copied = end;
    }
    out.push_str(text.get(copied..).unwrap_or(""));
    out
}

/// Replaces every occurrence of each of `secrets` (exact texts the caller knows: a token and the
/// encoded forms it travelled in) with `[redacted]`. Empty secrets are skipped.
pub fn redact_known(text: &str, secrets: &[String]) -> String {
    secrets.iter().fold(text.to_string(), |out, secret| {
        replace_all(&out, secret, REDACTED)
    })
}

/// `text.replace(from, to)` over [`find_bytes`] (`str::replace` links the two-way searcher,
/// ~2 KB of the wasm). An empty `from` changes nothing.
pub fn replace_all(text: &str, from: &str, to: &str) -> String {
    if from.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_bytes(rest, from) {
        // `at` starts a match of a whole UTF-8 `from`, so both cuts are char boundaries.
        out.push_str(rest.get(..at).unwrap_or(""));
        out.push_str(to);
        rest = rest.get(at + from.len()..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// At most `max_chars` characters (an ellipsis marks a cut).
pub(super) fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or("")),
        None => text.to_string(),
    }
}

/// A short, safe excerpt of a response body for an error message: markup stripped,
/// whitespace folded, credentials redacted, at most [`MAX_EXCERPT_CHARS`] characters.
pub fn sanitize_excerpt(text: &str) -> String {
    let scanned = match text.char_indices().find(|(i, _)| *i >= SCAN_BYTES) {
        Some((cut, _)) => text.get(..cut).unwrap_or(""),
        None => text,
    };
    let plain = strip_markup(scanned);
    truncate_chars(&redact_secrets(&plain), MAX_EXCERPT_CHARS)
}
