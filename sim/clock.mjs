// Timers in model time: every duration is divided by `speed`. Keeps every pending timer so that
// close() / reset can cancel all of them.
export class Clock {
  constructor(speed, onError = (err) => console.error("[sim] timer failed:", err)) {
    if (!(speed > 0)) throw new RangeError("speed must be > 0");
    this.speed = speed;
    this.onError = onError;
    this.timers = new Set();
    this.sleepers = new Set();
  }

  /** Real milliseconds for a model duration. */
  real(modelMs) {
    return Math.max(0, modelMs / this.speed);
  }

  schedule(modelMs, fn) {
    const handle = setTimeout(() => {
      this.timers.delete(handle);
      try {
        fn();
      } catch (err) {
        this.onError(err);
      }
    }, this.real(modelMs));
    this.timers.add(handle);
    return handle;
  }

  cancel(handle) {
    if (handle === undefined || handle === null) return;
    clearTimeout(handle);
    this.timers.delete(handle);
  }

  /** Resolves after a model duration, or at once when the clock is cleared. */
  sleep(modelMs) {
    if (modelMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper = { resolve };
      sleeper.handle = this.schedule(modelMs, () => {
        this.sleepers.delete(sleeper);
        resolve();
      });
      this.sleepers.add(sleeper);
    });
  }

  clearAll() {
    for (const handle of this.timers) clearTimeout(handle);
    this.timers.clear();
    for (const sleeper of this.sleepers) sleeper.resolve();
    this.sleepers.clear();
  }
}
