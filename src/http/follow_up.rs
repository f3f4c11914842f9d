//! Follow-up requests: the one extra request a failed answer calls for before the operation has
//! its result (Wawp `info` GET refused → POST; WAHA `create` of an existing session → read it).

use super::excerpt::find_bytes;
use super::response::{json_error_text, parse_body};
use super::{ClientOp, Flavor};

/// A second request that an answer calls for before the operation has its result. JS:
/// `{op, method?, answerAs}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowUp {
    /// The request to send: [`build_request`] of this op with the same args.
    pub op: ClientOp,
    /// Send it with this method instead; the client keeps this method for `op` from then on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'static str>,
    /// Classify its answer as this operation.
    pub answer_as: ClientOp,
}

/// Does this failed answer (`status`, raw `body`) of `op`, sent with `method`, call for one more
/// request? At most one follow-up per call; its own answer is final.
///
/// - Wawp `info`: current docs show `POST /v2/session/info`, older docs and Wawp's MCP server
///   GET. A 405, or a 404 that is not JSON (a router's page, not Wawp's `invalid_instance`),
///   means this deployment wants POST.
/// - WAHA `create`: WAHA Core pre-creates `default` and answers a second create with 422
///   "Session 'default' already exists. Use PUT to update it.". The session is adopted: read it
///   with `info` and answer that as the create result (as `start` treats "already started").
pub fn follow_up(
    flavor: Flavor,
    op: ClientOp,
    method: &str,
    status: u16,
    body: &str,
) -> Option<FollowUp> {
    match (flavor, op) {
        (Flavor::Wawp, ClientOp::Info)
            if method.eq_ignore_ascii_case("GET")
                && (status == 405 || (status == 404 && parse_body(body).is_none())) =>
        {
            Some(FollowUp {
                op,
                method: Some("POST"),
                answer_as: op,
            })
        }
        (Flavor::Waha, ClientOp::Create) if status == 422 && is_already_existing(body) => {
            Some(FollowUp {
                op: ClientOp::Info,
                method: None,
                answer_as: ClientOp::Create,
            })
        }
        _ => None,
    }
}

/// WAHA's 422 for a create of a name in use: "Session 'x' already exists. Use PUT to update it."
fn is_already_existing(body: &str) -> bool {
    let detail = parse_body(body).as_ref().and_then(json_error_text);
    let text = detail.as_deref().unwrap_or(body);
    find_bytes(&text.to_ascii_lowercase(), "already exists").is_some()
}
