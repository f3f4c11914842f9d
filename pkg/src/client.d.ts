import type { BackoffOptions, Flavor } from "../dist/wasm/wawp_session.js";

export interface WawpClientOptions {
  /** Wawp access token (query `access_token`) or WAHA API key (`X-Api-Key`). Never appears in errors. */
  accessToken: string;
  /** Wawp instance id; adopted from `create()` when absent. */
  instanceId?: string;
  /** Default "https://api.wawp.net"; point it at your own proxy or a simulator. */
  baseUrl?: string;
  /** "waha": self-hosted WAHA paths `/api/sessions/{session}/...` and the `X-Api-Key` header. */
  flavor?: Flavor;
  /** WAHA session name. */
  session?: string;
  /** Retries 429 / 5xx / network errors on calls that are safe to repeat; `false` turns retries off. */
  retry?: BackoffOptions | false;
  /** Per attempt, default 15000: no complete response in time → `timeout`. */
  timeoutMs?: number;
  /** Injected fetch (tests, service bindings), default `globalThis.fetch`. */
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
}

/** What `create()` provisions. */
export interface CreatedInstance {
  instanceId: string;
  serverName?: string;
  sessionName?: string;
  [field: string]: unknown;
}

/** A session response (`start`, `stop`, `info`, ...): `{name, status, config?, me?, ...}`. */
export interface SessionResponse {
  status?: string;
  name?: string;
  me?: { id: string; pushName?: string; lid?: string } | null;
  [field: string]: unknown;
}

export interface MeResponse {
  id: string;
  pushName?: string;
  lid?: string;
  [field: string]: unknown;
}

export declare class WawpClient {
  constructor(opts: WawpClientOptions);
  /** The instance this client talks to (set by `create()` when none was given). */
  readonly instanceId: string | undefined;
  readonly flavor: Flavor;
  create(): Promise<CreatedInstance>;
  start(): Promise<SessionResponse>;
  stop(): Promise<SessionResponse>;
  restart(): Promise<SessionResponse>;
  logout(): Promise<SessionResponse>;
  delete(): Promise<SessionResponse>;
  info(): Promise<SessionResponse>;
  /** null when the session is not WORKING. */
  me(): Promise<MeResponse | null>;
  /** The raw QR value: `{ value }` (or the server's shape). */
  qr(): Promise<{ value?: string; [field: string]: unknown }>;
  /** `{ qr: "data:image/png;base64,..." }` */
  qrImage(): Promise<{ qr?: string; [field: string]: unknown }>;
  requestCode(phoneNumber: string): Promise<{ code: string }>;
  /** POST /v2/send/text; retried only when non-delivery is certain. */
  sendText(chatId: string, text: string): Promise<{ id?: string; [field: string]: unknown }>;
  /** Rotation without a new client; the old token stays redacted from errors too. */
  setAccessToken(token: string): void;
}
