//! The borrowed view of a status object (a webhook envelope of either shape, an info response,
//! a `StatusReport`): derived `Deserialize` structs holding only the fields the decoders read,
//! strings borrowed from the JSON text where they have no escapes. Unknown fields are read past
//! (serde_json's `IgnoredAny`: checked as JSON, never built).
//!
//! Why not a `serde_json::Value` tree: the tree of a WAHA envelope (metadata, environment,
//! statuses, every string copied into a map) was about a quarter of the per-event time. Measured
//! in the wasm (Node 20, the bench's 10,000-body stream): docs/serde-measurements.md, "Issue 13
//! perf pass".
//!
//! A `Value` (a status in a JS event object, a response body) is written back to text and read by
//! the same structs, so every input goes through one set of rules ([`StatusObject::report`]).
//!
//! Lenient like the `Value` readers were: a field of the wrong type is as good as absent, never an
//! error ([`Field`] takes any JSON value). Two differences from building the tree, both about
//! fields no decoder reads: their numbers are not converted (`1e999` there is not an error) and
//! their nesting is read with serde_json's loop (no depth limit to protect the stack). A
//! duplicate key makes the derived struct fail; callers then read the text as a `Value`, where
//! the last one wins as in `JSON.parse`.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Me, SessionStatus, StatusReport};
use crate::error::{Result, WawpError};
use crate::payload::trim;

/// Any JSON value where a decoder wants text, a number or one of the objects below; other values
/// are kept only as "present" (`Other`).
#[derive(Debug, Default)]
pub(crate) enum Field<'a> {
    #[default]
    Absent,
    Null,
    Text(Cow<'a, str>),
    Number(f64),
    Object(Object<'a>),
    /// An array's elements, each an `Object` or `Other`: lists of lists are never read, and not
    /// recursing into them keeps the stack flat whatever the nesting.
    List(Vec<Field<'a>>),
    /// An object with a duplicate key: [`read_text`] gives the text up to the `Value` reader.
    Refused,
    Other,
}

/// The object a field holds: which one is up to the field ([`Kind`]).
#[derive(Debug)]
pub(crate) enum Object<'a> {
    Ignored,
    Status(Box<StatusObject<'a>>),
    Payload(Box<Payload<'a>>),
    Me(Box<MeObject<'a>>),
    Change(Box<Change<'a>>),
}

/// Which struct an object-valued field reads, chosen at run time: one visitor type ([`Reader`])
/// for every field is one copy of serde_json's `deserialize_any` in the wasm instead of one per
/// struct (measured: a type parameter per struct cost 2.2 KB gzip more).
#[derive(Debug, Clone, Copy)]
enum Kind {
    Ignored,
    Status,
    Payload,
    Me,
    Change,
}

impl Field<'_> {
    /// Like `Fields::str_field`: a string, trimmed; empty counts as absent.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Field::Text(s) => Some(trim(s)).filter(|s| !s.is_empty()),
            _ => None,
        }
    }

    /// Like `Fields::num_field`: a finite number.
    pub(crate) fn number(&self) -> Option<f64> {
        match self {
            Field::Number(n) if n.is_finite() => Some(*n),
            _ => None,
        }
    }

    pub(crate) fn status_object(&self) -> Option<&StatusObject<'_>> {
        match self {
            Field::Object(Object::Status(o)) => Some(o),
            _ => None,
        }
    }

    /// An object read here had a duplicate key (only objects can: `Refused` stands in for one).
    fn has_refusal(&self) -> bool {
        match self {
            Field::Refused => true,
            Field::List(items) => items.iter().any(Field::has_refusal),
            Field::Object(Object::Status(o)) => o.payload.has_refusal() || o.me.has_refusal(),
            Field::Object(Object::Payload(p)) => p.statuses.has_refusal() || p.me.has_refusal(),
            _ => false,
        }
    }

    /// The key is there, whatever its value (`null` included).
    pub(crate) fn is_present(&self) -> bool {
        !matches!(self, Field::Absent)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> core::result::Result<Self, D::Error> {
        Reader::of(Kind::Ignored).deserialize(deserializer)
    }
}

fn payload_field<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> core::result::Result<Field<'a>, D::Error> {
    Reader::of(Kind::Payload).deserialize(deserializer)
}

fn me_field<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> core::result::Result<Field<'a>, D::Error> {
    Reader::of(Kind::Me).deserialize(deserializer)
}

fn changes_field<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> core::result::Result<Field<'a>, D::Error> {
    Reader::of(Kind::Change).deserialize(deserializer)
}

/// Reads any JSON value as a [`Field`]. Implements every `visit_*` serde_json calls, so no
/// `invalid_type` error (which formats floats: ~26 KB gzip in the wasm) is linked; the derived
/// structs are only ever entered through `visit_map` here (`MapAccessDeserializer`), never
/// through serde_json's `deserialize_struct`.
#[derive(Clone, Copy)]
struct Reader {
    kind: Kind,
    /// Inside an array: a nested array is read past, not collected.
    element: bool,
}

impl Reader {
    fn of(kind: Kind) -> Reader {
        Reader {
            kind,
            element: false,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Reader {
    type Value = Field<'de>;
    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> core::result::Result<Field<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Reader {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> core::result::Result<Self::Value, E> {
        Ok(Field::Other)
    }
    fn visit_i64<E>(self, v: i64) -> core::result::Result<Self::Value, E> {
        Ok(Field::Number(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> core::result::Result<Self::Value, E> {
        Ok(Field::Number(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> core::result::Result<Self::Value, E> {
        Ok(Field::Number(v))
    }
    fn visit_str<E>(self, v: &str) -> core::result::Result<Self::Value, E> {
        Ok(Field::Text(Cow::Owned(v.to_string())))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> core::result::Result<Self::Value, E> {
        Ok(Field::Text(Cow::Borrowed(v)))
    }
    fn visit_string<E>(self, v: String) -> core::result::Result<Self::Value, E> {
        Ok(Field::Text(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> core::result::Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_none<E>(self) -> core::result::Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> core::result::Result<Self::Value, A::Error> {
        if self.element {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(Field::Other);
        }
        let element = Reader {
            element: true,
            ..self
        };
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(element)? {
            items.push(item);
        }
        Ok(Field::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> core::result::Result<Self::Value, A::Error> {
        let map = MapAccessDeserializer::new(Keys(map));
        let object = match self.kind {
            Kind::Ignored => IgnoredAny::deserialize(map).map(|_| Object::Ignored),
            Kind::Status => StatusObject::deserialize(map).map(|o| Object::Status(Box::new(o))),
            Kind::Payload => Payload::deserialize(map).map(|p| Object::Payload(Box::new(p))),
            Kind::Me => MeObject::deserialize(map).map(|m| Object::Me(Box::new(m))),
            Kind::Change => Change::deserialize(map).map(|c| Object::Change(Box::new(c))),
        };
        match object {
            Ok(object) => Ok(Field::Object(object)),
            Err(Refusal::Json(error)) => Err(error),
            Err(Refusal::Derived) => Ok(Field::Refused),
        }
    }
}

/// The map a derived struct reads, with an error type of its own. The derive reports a duplicate
/// key through `de::Error::custom`, and serde_json builds every custom error by parsing a
/// " at line N column M" suffix out of the message (`make_error`: string search, slicing, char
/// formatting; 3 KB gzip in the wasm). `Refusal::Derived` carries no message, and the caller
/// turns it into [`Field::Refused`].
struct Keys<A>(A);

#[derive(Debug)]
enum Refusal<E> {
    Json(E),
    Derived,
}

impl<E: core::fmt::Display> core::fmt::Display for Refusal<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            Refusal::Json(error) => error.fmt(f),
            Refusal::Derived => f.write_str("duplicate key"),
        }
    }
}

impl<E: core::fmt::Debug + core::fmt::Display> std::error::Error for Refusal<E> {}

impl<E: serde::de::Error> serde::de::Error for Refusal<E> {
    fn custom<T: core::fmt::Display>(_: T) -> Self {
        Refusal::Derived
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Keys<A> {
    type Error = Refusal<A::Error>;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> core::result::Result<Option<K::Value>, Self::Error> {
        self.0.next_key_seed(seed).map_err(Refusal::Json)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> core::result::Result<V::Value, Self::Error> {
        self.0.next_value_seed(seed).map_err(Refusal::Json)
    }
}

/// The top level of a status object: the WAHA envelope `{id, timestamp, event, session, me,
/// payload}`, the older Wawp `{instance_id, status, qr?, ts}`, an info response or a report.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct StatusObject<'a> {
    #[serde(borrow)]
    pub(crate) event: Field<'a>,
    #[serde(borrow)]
    pub(crate) status: Field<'a>,
    #[serde(borrow, rename = "rawStatus")]
    raw_status: Field<'a>,
    #[serde(borrow, deserialize_with = "payload_field")]
    payload: Field<'a>,
    #[serde(borrow, deserialize_with = "me_field")]
    me: Field<'a>,
    #[serde(borrow)]
    pub(crate) id: Field<'a>,
    #[serde(borrow, rename = "eventId")]
    event_id: Field<'a>,
    #[serde(borrow)]
    pub(crate) timestamp: Field<'a>,
    #[serde(borrow, rename = "atMs")]
    at_ms: Field<'a>,
    #[serde(borrow)]
    ts: Field<'a>,
    #[serde(borrow)]
    pub(crate) session: Field<'a>,
    #[serde(borrow)]
    name: Field<'a>,
    #[serde(borrow)]
    session_name: Field<'a>,
    #[serde(borrow)]
    instance_id: Field<'a>,
    #[serde(borrow, rename = "instanceId")]
    instance_id_camel: Field<'a>,
    #[serde(borrow)]
    server_name: Field<'a>,
    #[serde(borrow, rename = "serverName")]
    server_name_camel: Field<'a>,
    #[serde(borrow)]
    qr: Field<'a>,
}

/// A WAHA envelope's `payload`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Payload<'a> {
    #[serde(borrow)]
    status: Field<'a>,
    #[serde(borrow, deserialize_with = "changes_field")]
    statuses: Field<'a>,
    #[serde(borrow, deserialize_with = "me_field")]
    me: Field<'a>,
    #[serde(borrow)]
    name: Field<'a>,
    #[serde(borrow)]
    qr: Field<'a>,
}

/// One entry of `payload.statuses` (the status history of older builds and partial payloads).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Change<'a> {
    #[serde(borrow)]
    status: Field<'a>,
    #[serde(borrow)]
    timestamp: Field<'a>,
}

/// `me` as an object (it may also be a bare id string).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MeObject<'a> {
    #[serde(borrow)]
    id: Field<'a>,
    #[serde(borrow, rename = "pushName")]
    push_name: Field<'a>,
    #[serde(borrow)]
    lid: Field<'a>,
}

fn me_of(field: &Field<'_>) -> Option<Me> {
    match field {
        Field::Text(id) if !id.trim().is_empty() => Some(Me {
            id: id.trim().to_string(),
            push_name: None,
            lid: None,
        }),
        Field::Object(Object::Me(me)) => Some(Me {
            id: me.id.text()?.to_string(),
            push_name: me.push_name.text().map(str::to_string),
            lid: me.lid.text().map(str::to_string),
        }),
        _ => None,
    }
}

/// Seconds or milliseconds: the older Wawp `ts` is in seconds; values that are already in
/// milliseconds (after 1973 in ms, i.e. > 1e11) are kept as they are.
fn seconds_to_ms(ts: f64) -> f64 {
    if ts.abs() < 1e11 { ts * 1000.0 } else { ts }
}

impl StatusObject<'_> {
    fn payload(&self) -> Option<&Payload<'_>> {
        match &self.payload {
            Field::Object(Object::Payload(p)) => Some(p),
            _ => None,
        }
    }

    /// The newest entry of `payload.statuses` that names a status (the last of equal times).
    fn latest_change(&self) -> Option<&Change<'_>> {
        let Field::List(history) = &self.payload()?.statuses else {
            return None;
        };
        history
            .iter()
            .filter_map(|item| match item {
                Field::Object(Object::Change(change)) => Some(&**change),
                _ => None,
            })
            .filter(|change| change.status.text().is_some())
            .max_by(|a, b| {
                let ta = a.timestamp.number().unwrap_or(f64::MIN);
                let tb = b.timestamp.number().unwrap_or(f64::MIN);
                ta.total_cmp(&tb)
            })
    }

    /// The status as written: WAHA envelope `payload.status`, else the top level (`rawStatus`
    /// first: a `StatusReport` of an unknown status says `UNKNOWN` and keeps the original there),
    /// else the newest of `payload.statuses`.
    fn raw_status(&self) -> Option<&str> {
        self.payload()
            .and_then(|p| p.status.text())
            .or_else(|| {
                self.status
                    .text()
                    .and(self.raw_status.text())
                    .or_else(|| self.status.text())
            })
            .or_else(|| self.latest_change().and_then(|c| c.status.text()))
    }

    pub(crate) fn has_status(&self) -> bool {
        self.raw_status().is_some()
    }

    /// The typed report: every field's fallbacks in one place, for text and `Value` inputs.
    pub(crate) fn report(&self) -> Result<StatusReport> {
        let raw = self
            .raw_status()
            .ok_or_else(|| WawpError::invalid_payload("no status field in the object"))?;
        let text = |f: &Field<'_>| f.text().map(str::to_string);
        let payload = self.payload();
        Ok(StatusReport {
            status: SessionStatus::parse(raw),
            raw_status: raw.to_string(),
            instance_id: text(&self.instance_id).or_else(|| text(&self.instance_id_camel)),
            session: text(&self.session)
                .or_else(|| payload.and_then(|p| text(&p.name)))
                .or_else(|| text(&self.name))
                .or_else(|| text(&self.session_name)),
            server_name: text(&self.server_name).or_else(|| text(&self.server_name_camel)),
            qr: text(&self.qr).or_else(|| payload.and_then(|p| text(&p.qr))),
            me: me_of(&self.me).or_else(|| payload.and_then(|p| me_of(&p.me))),
            at_ms: self
                .timestamp
                .number()
                .or_else(|| self.at_ms.number())
                .or_else(|| self.ts.number().map(seconds_to_ms))
                .or_else(|| self.latest_change().and_then(|c| c.timestamp.number())),
            event_id: text(&self.id).or_else(|| text(&self.event_id)),
            event: text(&self.event),
        })
    }

    /// `instance_id`, else `instanceId` (routing of events other than statuses).
    pub(crate) fn instance_id(&self) -> Option<&str> {
        self.instance_id
            .text()
            .or_else(|| self.instance_id_camel.text())
    }
}

/// JSON text read for its status objects: an object ([`Field::status_object`]) or a list of
/// them. `None` for malformed text and for a duplicate key in a read object: callers then read
/// the text as a `Value`, which says what is wrong or lets the last key win (module comment).
pub(crate) fn read_text(text: &str) -> Option<Field<'_>> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let document = Reader::of(Kind::Status)
        .deserialize(&mut deserializer)
        .ok()?;
    deserializer.end().ok()?;
    (!document.has_refusal()).then_some(document)
}

/// A `Value` as JSON text for [`read_text`] (a `Value` has no duplicate key and no lone
/// surrogate, so its text reads). Not the derived readers on `&Value`: a second instance of
/// each cost 5.5 KB gzip (measured with this reader), and `Value` inputs are not the per-event
/// path.
pub(crate) fn value_text(value: &serde_json::Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use crate::status::{SessionStatus, decode_status_text, decode_status_value};
    use crate::webhook::{WebhookLimits, parse_webhooks};
    use crate::{ErrorCode, payload};

    #[test]
    fn a_duplicate_key_falls_back_to_the_value_reader_where_the_last_one_wins() {
        let body = r#"{"event":"session.status","status":"STOPPED","status":"WORKING"}"#;
        assert!(
            super::read_text(body).is_none(),
            "the derived struct refuses it"
        );
        for nested in [
            r#"{"payload":{"status":"STOPPED","status":"WORKING"}}"#,
            r#"{"payload":{"status":"WORKING","me":{"id":"1@c.us","id":"2@c.us"}}}"#,
            r#"{"payload":{"statuses":[{"status":"FAILED","status":"WORKING"}]}}"#,
            r#"[{"status":"STOPPED"},{"status":"STOPPED","status":"WORKING"}]"#,
        ] {
            assert!(super::read_text(nested).is_none(), "{nested}");
            let from_value = decode_status_value(&payload::parse(nested).unwrap()).unwrap();
            assert_eq!(decode_status_text(nested).unwrap(), from_value, "{nested}");
        }
        assert_eq!(
            decode_status_text(body).unwrap().status,
            SessionStatus::Working
        );
        let events = parse_webhooks(body, &WebhookLimits::default()).unwrap();
        assert_eq!(
            events[0].report.as_ref().unwrap().status,
            SessionStatus::Working
        );
    }

    #[test]
    fn escaped_and_borrowed_strings_read_alike() {
        let plain = decode_status_text(r#"{"payload":{"status":"WORKING"},"session":"a b"}"#);
        let escaped =
            decode_status_text(r#"{"payload":{"status":"WORK\u0049NG"},"session":"a\u0020b"}"#);
        assert_eq!(plain.unwrap(), escaped.unwrap());
    }

    #[test]
    fn text_and_value_inputs_go_through_the_same_rules() {
        for text in [
            r#"{"status":"X","rawStatus":"READY","me":"1@c.us","ts":5}"#,
            r#"{"payload":{"statuses":[{"status":"FAILED","timestamp":3},7,[1],{"status":"STARTING","timestamp":2}],"me":{"id":"2@c.us","lid":"9@lid"}}}"#,
            r#"[{"status":"STOPPED"},{"name":"no status"},"x",[{"status":"LOGOUT"}]]"#,
            r#"{"status":true,"payload":[1]}"#,
        ] {
            let from_text = decode_status_text(text).map_err(|e| e.code);
            let from_value =
                decode_status_value(&payload::parse(text).unwrap()).map_err(|e| e.code);
            assert_eq!(from_text, from_value, "{text}");
        }
        let r = decode_status_text(r#"{"payload":{"statuses":[{"status":"FAILED","timestamp":3},{"status":"STARTING","timestamp":2}]}}"#).unwrap();
        assert_eq!((r.status, r.at_ms), (SessionStatus::Failed, Some(3.0)));
        assert_eq!(
            decode_status_text(r#"{"status":true,"payload":[1]}"#)
                .unwrap_err()
                .code,
            ErrorCode::InvalidPayload
        );
    }

    #[test]
    fn unread_fields_are_checked_as_json_but_never_built() {
        let deep = format!(
            r#"{{"status":"WORKING","environment":{}{}}}"#,
            "[".repeat(payload::MAX_DEPTH * 4),
            "]".repeat(payload::MAX_DEPTH * 4)
        );
        assert_eq!(
            decode_status_text(&deep).unwrap().status,
            SessionStatus::Working
        );
        let broken = r#"{"payload":{"status":"FAILED"},"environment":{"version":}}"#;
        assert_eq!(
            decode_status_text(broken).unwrap_err().code,
            ErrorCode::InvalidPayload
        );
        // Lists of lists in a read field are read past too: no recursion, whatever the depth.
        let nested = format!("[{}{}]", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(
            decode_status_text(&nested).unwrap_err().code,
            ErrorCode::InvalidPayload
        );
    }
}
