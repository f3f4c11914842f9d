// WawpClient is Rust (src/wasm/client/): request building, fetch with a timeout, retries,
// follow-ups and token redaction all happen in the wasm, and this file makes no request. It only
// keeps a client alive across a trap: the wasm object dies with its instance (bindings.js swaps
// in a fresh one), so the next call rebuilds it from what it was made with — the options, the
// tokens set since (replayed in order: the last is current, all stay redacted) and the instance
// id `create()` adopted. Calls in flight during the trap are rejected by bindings.js.

import { WawpClient as WasmClient, recoveryCount } from "./bindings.js";

export class WawpClient {
  #opts;
  #tokens = [];
  #client;
  #epoch;

  /** @param {import("./client.d.ts").WawpClientOptions} opts */
  constructor(opts) {
    this.#client = new WasmClient(opts); // checks the options: throws the typed error
    this.#opts = { ...opts };
    this.#epoch = recoveryCount();
  }

  #live() {
    if (this.#epoch !== recoveryCount()) {
      const client = new WasmClient(this.#opts);
      for (const token of this.#tokens) client.setAccessToken(token);
      this.#client = client;
      this.#epoch = recoveryCount();
    }
    return this.#client;
  }

  get instanceId() {
    return this.#live().instanceId;
  }

  get flavor() {
    return this.#live().flavor;
  }

  setAccessToken(token) {
    this.#live().setAccessToken(token);
    this.#tokens.push(token);
    // A memory bound only (a pathological rotator); which tokens are redacted is the wasm's rule,
    // and replaying more than it keeps would be trimmed there.
    if (this.#tokens.length > 64) this.#tokens.shift();
  }

  async create() {
    const client = this.#live();
    const created = await client.create();
    this.#opts.instanceId = client.instanceId;
    return created;
  }

  start() {
    return this.#live().start();
  }

  stop() {
    return this.#live().stop();
  }

  restart() {
    return this.#live().restart();
  }

  logout() {
    return this.#live().logout();
  }

  delete() {
    return this.#live().delete();
  }

  info() {
    return this.#live().info();
  }

  me() {
    return this.#live().me();
  }

  qr() {
    return this.#live().qr();
  }

  qrImage() {
    return this.#live().qrImage();
  }

  requestCode(phoneNumber) {
    return this.#live().requestCode(phoneNumber);
  }

  sendText(chatId, text) {
    return this.#live().sendText(chatId, text);
  }
}
