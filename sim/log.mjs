// The request / delivery / webhook log served at GET /__sim/log. One sequence number across the three
// lists so their entries can be ordered against each other. Bounded so long benchmarks stay small.
export class SimLog {
  constructor(maxEntries = 20000) {
    this.maxEntries = maxEntries;
    this.clear();
  }

  clear() {
    this.seq = 0;
    this.requests = [];
    this.deliveries = [];
    this.webhooks = [];
  }

  #append(list, entry) {
    const record = { seq: ++this.seq, t: Date.now(), ...entry };
    list.push(record);
    if (list.length > this.maxEntries) list.splice(0, list.length - this.maxEntries);
    return record;
  }

  request(entry) {
    return this.#append(this.requests, entry);
  }

  delivery(entry) {
    return this.#append(this.deliveries, entry);
  }

  webhook(entry) {
    return this.#append(this.webhooks, entry);
  }

  /** Entries with seq > since. */
  snapshot(since = 0) {
    const after = (list) => list.filter((e) => e.seq > since);
    return { requests: after(this.requests), deliveries: after(this.deliveries), webhooks: after(this.webhooks) };
  }
}

const CREDENTIAL_PARAMS = new Set(["access_token", "accesstoken", "token", "api_key", "apikey", "x-api-key", "key"]);

/** Path plus query with every credential value replaced, for logs. */
export function redactedPath(url) {
  const parts = [];
  for (const [name, value] of url.searchParams) {
    const shown = CREDENTIAL_PARAMS.has(name.toLowerCase()) ? "REDACTED" : value;
    parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(shown)}`);
  }
  return parts.length ? `${url.pathname}?${parts.join("&")}` : url.pathname;
}
