// The status decoder a JavaScript team would write for the same job (shared by the XState and the
// hand-written-switch contenders so that both pay exactly the same decoding cost): JSON.parse, then
// the WAHA envelope, the older Wawp webhook shape ({instance_id, status, ts in seconds}) or an info body.
const KNOWN = new Set(["STOPPED", "STARTING", "SCAN_QR_CODE", "WORKING", "FAILED", "LOGOUT", "DELETED",
  "PASSKEY_REQUIRED", "PASSKEY_CONFIRMATION_REQUIRED"]);
const UI_ACTION = {
  STOPPED: "start", STARTING: "connecting", SCAN_QR_CODE: "scan_qr", LOGOUT: "scan_qr", WORKING: "connected",
  FAILED: "troubleshoot", DELETED: "provision", PASSKEY_REQUIRED: "passkey",
  PASSKEY_CONFIRMATION_REQUIRED: "passkey", UNKNOWN: "inspect",
};

export function normalizeStatus(raw) {
  const s = String(raw).trim().toUpperCase();
  if (s === "DISCONNECTED") return "LOGOUT";
  return KNOWN.has(s) ? s : "UNKNOWN";
}

export function uiActionFor(status) {
  return UI_ACTION[status] ?? "inspect";
}

export function decodeStatusJs(input) {
  const value = typeof input === "string" ? JSON.parse(input) : input;
  let raw, atMs, eventId, instanceId, session, me;
  if (value && typeof value === "object" && value.payload && typeof value.payload.status === "string") {
    raw = value.payload.status;
    atMs = typeof value.timestamp === "number" ? value.timestamp : undefined;
    eventId = typeof value.id === "string" ? value.id : undefined;
    session = value.session;
    me = value.me ?? undefined;
  } else if (value && typeof value === "object" && typeof value.status === "string") {
    raw = value.status;
    atMs = typeof value.ts === "number" ? value.ts * 1000 : undefined;
    instanceId = value.instance_id;
    session = value.name;
    me = value.me ?? undefined;
  } else {
    const err = new Error("no status found");
    err.code = "invalid_payload";
    throw err;
  }
  const status = normalizeStatus(raw);
  return { status, rawStatus: raw, uiAction: uiActionFor(status), canSend: status === "WORKING", atMs, eventId,
    instanceId, session, me };
}
