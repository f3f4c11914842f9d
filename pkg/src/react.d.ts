// `wawp-session/react`: written against React's public hook signature only, so these types need
// no @types/react.
import type { SessionSnapshot, SessionSource } from "./store.js";

/** The action methods a source has (start, stop, retry, logout, send, requestPairingCode, ...), bound. */
export type SessionActions<S> = {
  [K in keyof S as K extends "subscribe" | "getSnapshot" ? never : S[K] extends (...args: never[]) => unknown ? K : never]: S[K];
};

/**
 * The session's current snapshot (re-rendering on every change, via useSyncExternalStore) plus
 * `actions`: the source's methods, bound and stable per source.
 */
export declare function useSession<S extends SessionSource>(source: S): SessionSnapshot & { actions: SessionActions<S> };
