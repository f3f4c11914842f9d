// `wawp-session/react`: one hook over the store contract both sources share (SessionSupervisor,
// connectEdgeSession). React is an optional peer dependency: only this subpath imports it.

import { useMemo, useSyncExternalStore } from "react";

/**
 * The session's current snapshot (the component re-renders on every change) plus `actions`, the
 * source's methods bound to it, stable for as long as the source is the same object.
 * @param {import("./store.d.ts").SessionSource} source
 */
export function useSession(source) {
  // subscribe / getSnapshot are bound functions of the source, so they are stable too.
  const snapshot = useSyncExternalStore(source.subscribe, source.getSnapshot, source.getSnapshot);
  const actions = useMemo(() => boundMethods(source), [source]);
  return useMemo(() => ({ ...snapshot, actions }), [snapshot, actions]);
}

/** Every method of the source's classes except the store contract, bound to the source. */
function boundMethods(source) {
  const actions = {};
  for (let proto = Object.getPrototypeOf(source); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const [name, desc] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
      if (name === "constructor" || name === "subscribe" || name === "getSnapshot" || name in actions) continue;
      if (typeof desc.value === "function") actions[name] = desc.value.bind(source);
    }
  }
  return Object.freeze(actions);
}
