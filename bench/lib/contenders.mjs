// The per-event contenders behind one sans-IO surface: advance(now) fires due timers,
// handle(event, now) steps, pollAction() drains. Each is created fresh per measured pass.
import { SimulatedClock } from "xstate";
import { createSwitchLifecycle } from "../contenders/switch-lifecycle.mjs";
import { createXStateLifecycle } from "../contenders/xstate-lifecycle.mjs";
import { loadPackage } from "./package.mjs";

const TIMEOUT = { type: "timeout" };

export function timerDriven(machine) {
  return {
    advance(now) {
      let due;
      while ((due = machine.pollTimeout()) !== undefined && due !== null && due <= now) machine.handle(TIMEOUT, now);
    },
    handle: (event, now) => machine.handle(event, now),
    pollAction: () => machine.pollAction(),
  };
}

/** The batch path: all pending actions in one boundary crossing (`drainActions()`). */
function drainingInBatches(machine) {
  let batch = [];
  let next = 0;
  return {
    ...timerDriven(machine),
    pollAction() {
      if (next >= batch.length) {
        batch = machine.drainActions();
        next = 0;
      }
      return next < batch.length ? batch[next++] : undefined;
    },
  };
}

/**
 * No seed, as the native core (bench/fleet's per_event) runs: the machine derives one from the
 * first `now` it sees. `null` and not a missing key: for a missing `seed` the JS binding draws one
 * from Math.random(), the deadline jitter then differs per process, and the action counts of the
 * wasm and the native core could no longer be compared.
 */
const LIKE_NATIVE = { seed: null };

/**
 * The same host loop and options over the package built in another tree (bench/baseline.mjs:
 * 44db905, which ignores the `seed` it does not know).
 */
export async function packageContender(pkgDir) {
  const pkg = await loadPackage("node", pkgDir);
  return () => timerDriven(new pkg.LifecycleMachine(LIKE_NATIVE));
}

export const CONTENDERS = {
  "wawp-session": async () => {
    const pkg = await loadPackage("node");
    return () => timerDriven(new pkg.LifecycleMachine(LIKE_NATIVE));
  },
  "wawp-session drainActions": async () => {
    const pkg = await loadPackage("node");
    return () => drainingInBatches(new pkg.LifecycleMachine(LIKE_NATIVE));
  },
  "xstate-v5": async () => () => {
    const clock = new SimulatedClock();
    const machine = createXStateLifecycle({ clock });
    return {
      advance(now) {
        if (now > clock.now()) clock.set(now); // fires the `after` watchdogs that are due
      },
      handle: (event, now) => machine.handle(event, now),
      pollAction: () => machine.pollAction(),
    };
  },
  "js-switch": async () => () => timerDriven(createSwitchLifecycle()),
};
