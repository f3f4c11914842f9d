// Bounded waits for the I/O a Durable Object step started, so an answer can show its outcome.

/** How long an HTTP request waits for the calls it caused before answering with the current view. */
export const RESPONSE_WAIT_MS = 5_000;

/** Waits (bounded) for a step's `calls` and `deliveries`. */
export function settle({ calls, deliveries }, ms = RESPONSE_WAIT_MS) {
  return withDeadline(Promise.allSettled([...calls, ...deliveries.values()]), ms);
}

export function withDeadline(promise, ms) {
  let timer;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([Promise.resolve(promise).catch(() => {}), deadline]).finally(() => clearTimeout(timer));
}
