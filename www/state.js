// What the dashboard's modules share: the page's configuration, the open session and the last
// snapshot it rendered. The session's own state lives in the package's store, not here.

export const state = {
  config: { mode: "real", backend: "edge", timingScale: 1 },
  instanceId: /** @type {string|null} */ (null),
  /** The open EdgeSession (edge worker, or the in-page backend of direct mode). */
  session: /** @type {import("../pkg/src/edge-session.js").EdgeSession|null} */ (null),
  /** The snapshot last rendered (null: no instance). */
  snapshot: /** @type {import("../pkg/src/store.d.ts").SessionSnapshot|null} */ (null),
  /** Direct mode's in-page backend (www/direct.js); null when the edge worker answers /api. */
  direct: /** @type {{fetch: typeof fetch, close: () => void}|null} */ (null),
};

export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
