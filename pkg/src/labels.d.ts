import type { AdminReason, ErrorCode, IdentityVerdict, SessionStatus } from "../dist/wasm/wawp_session.js";
import type { MessageState } from "./store.js";

/** "Connected", "Waiting for scan", ...; an unknown value is returned as it is. */
export declare function statusLabel(status: SessionStatus | string): string;
export declare function messageStateLabel(state: MessageState | string): string;
/** Why a send was rejected, for a person. */
export declare function rejectionText(code: ErrorCode | string): string;
export declare function notificationText(reason: AdminReason | string): string;
/** null before the identity was checked. */
export declare function identityText(verdict: IdentityVerdict | null): string | null;
