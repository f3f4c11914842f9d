// Sliding-window rate limits. `windowVerdict` is the one rule (used for per-instance sends inside
// the instance's Durable Object, over its own message rows); `RateWindow` is a tiny Durable Object
// holding the hit times of a limit that spans instances (creates per hour).

/**
 * @param {number[]} hits times (ms) of earlier hits, ascending
 * @returns {{allowed: boolean, retryAfterMs: number, recent: number[]}} `recent`: the hits still
 *   inside the window (plus `nowMs` when allowed)
 */
export function windowVerdict(hits, limit, windowMs, nowMs) {
  const recent = hits.filter((at) => at > nowMs - windowMs);
  if (recent.length < limit) return { allowed: true, retryAfterMs: 0, recent: [...recent, nowMs] };
  // The next hit fits once enough of the oldest ones have left the window.
  const freedAt = recent[recent.length - limit] + windowMs;
  return { allowed: false, retryAfterMs: Math.max(1, freedAt - nowMs), recent };
}

/** `Retry-After` (whole seconds, at least 1) for a refusal. */
export function retryAfterHeader(retryAfterMs) {
  return String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
}

export class RateWindow {
  constructor(ctx) {
    this.storage = ctx.storage;
  }

  /** POST `{limit, windowMs}` → `{allowed, retryAfterMs}`; an allowed hit is recorded. */
  async fetch(request) {
    const { limit, windowMs } = await request.json();
    const hits = (await this.storage.get("hits")) ?? [];
    const verdict = windowVerdict(hits, limit, windowMs, Date.now());
    if (verdict.allowed || verdict.recent.length !== hits.length) await this.storage.put("hits", verdict.recent);
    return Response.json({ allowed: verdict.allowed, retryAfterMs: verdict.retryAfterMs });
  }
}

/** One hit against the named window; `{allowed, retryAfterMs}`. */
export async function hitRateWindow(env, name, limit, windowMs) {
  const stub = env.RATE_WINDOWS.get(env.RATE_WINDOWS.idFromName(name));
  const response = await stub.fetch(
    new Request("https://rate/", { method: "POST", body: JSON.stringify({ limit, windowMs }) }),
  );
  return response.json();
}
