// English texts for what the store reports: a status badge, a message's state, why a send was
// rejected, an administrator notification, the identity verdict. The decisions (which status,
// which UI action, which code) come from the core; these only name them, once, for every UI.

const STATUS = {
  STOPPED: "Stopped",
  STARTING: "Starting",
  SCAN_QR_CODE: "Waiting for scan",
  WORKING: "Connected",
  FAILED: "Failed",
  LOGOUT: "Logged out",
  DELETED: "Deleted",
  PASSKEY_REQUIRED: "Passkey needed",
  PASSKEY_CONFIRMATION_REQUIRED: "Confirm passkey",
  UNKNOWN: "Unknown",
};

/** "starting": queued while the session it waits for is coming up (start-on-send). */
const MESSAGE_STATE = { queued: "Queued", starting: "Waiting for session", sending: "Sending", sent: "Sent", rejected: "Rejected" };

const REJECTION = {
  needs_qr: "link the phone first (scan the QR code)",
  send_timeout: "the session was not ready in time",
  queue_full: "too many messages waiting",
  identity_mismatch: "a different account is linked",
  not_found: "the instance was deleted",
  closed: "interrupted by a restart; may or may not have been delivered",
  unauthorized: "the API rejected the credentials",
};

const NOTIFICATION = {
  failed: "The session failed; automatic recovery is running.",
  restart_budget_exhausted: "Automatic restarts gave up after repeated failures; a person needs to look at it.",
  identity_mismatch: "A different WhatsApp account than expected is linked.",
  unauthorized: "The API rejected the access token.",
  deleted: "The instance was deleted.",
};

const IDENTITY = {
  match: "Identity verified: this is the expected account",
  mismatch: "Identity mismatch: a different account is linked",
  unverifiable: "Identity could not be verified (hidden number)",
};

/** "Connected", "Waiting for scan", ...; an unknown value is shown as it is. */
export function statusLabel(status) {
  return STATUS[status] ?? String(status);
}

export function messageStateLabel(state) {
  return MESSAGE_STATE[state] ?? String(state);
}

/** Why a send was rejected, for a person: "link the phone first (scan the QR code)". */
export function rejectionText(code) {
  return REJECTION[code] ?? String(code).replaceAll("_", " ");
}

export function notificationText(reason) {
  return NOTIFICATION[reason] ?? String(reason);
}

/** null before the identity was checked. */
export function identityText(verdict) {
  return IDENTITY[verdict] ?? null;
}
