import type { BackoffOptions } from "../dist/wasm/wawp_session.js";
import type { MessageState, SessionSnapshot, SessionSource } from "./store.js";

export interface EdgeSessionOptions {
  /** The edge worker's URL, or the path of a same-origin proxy to it (e.g. "/api"). */
  baseUrl: string;
  instanceId: string;
  /**
   * An instance token from your backend, or a function returning one. A function is asked again
   * after a 401 (expired token), once per failed request.
   */
  token?: string | (() => string | Promise<string>);
  /** "auto" (default): event stream, polling while it is down; "sse": stream only; "polling". */
  transport?: "auto" | "sse" | "polling";
  /** How often the instance is read while polling; default 3000. */
  pollIntervalMs?: number;
  /** Reopening a failed stream; default {baseMs: 500, capMs: 30000, jitter: "full"}. */
  reconnect?: BackoffOptions;
  /** An injected fetch; default globalThis.fetch. */
  fetch?: typeof fetch;
}

export interface EdgeSendInput {
  chatId: string;
  text: string;
  /** Your own id makes a retried send idempotent (1-100 characters of [A-Za-z0-9_.:-]). */
  id?: string;
  timeoutMs?: number;
}

export interface EdgeSendResult {
  id: string;
  state: MessageState;
  messageId?: string;
}

/** A session supervised by the edge worker, seen from a browser (or any fetch-capable runtime). */
export declare class EdgeSession implements SessionSource {
  constructor(opts: EdgeSessionOptions);
  readonly instanceId: string;
  subscribe(listener: () => void): () => void;
  getSnapshot(): SessionSnapshot;
  /** Power On. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Restart (the Troubleshoot panel's Retry). */
  retry(): Promise<void>;
  logout(): Promise<void>;
  /** Reads info; a STOPPED session starts in the background. */
  warmBoot(): Promise<void>;
  /** Start-on-send; rejects with a WawpError (needs_qr, send_timeout, ...). */
  send(message: EdgeSendInput): Promise<EdgeSendResult>;
  /** The code to type on the phone instead of scanning. */
  requestPairingCode(phoneNumber: string): Promise<string>;
  /** Reads the QR image again (done by itself on every SCAN_QR_CODE). */
  refreshQr(): void;
  /** One fresh read of the instance and its messages. */
  refresh(): Promise<void>;
  /** Deletes the instance on the edge and the API, then closes. */
  deleteInstance(): Promise<{ deleted: boolean }>;
  /** Stops the stream, polling and timers. */
  close(): void;
}

/** Connects to one instance of the edge worker; call `init()` first in browsers. */
export declare function connectEdgeSession(opts: EdgeSessionOptions): EdgeSession;
