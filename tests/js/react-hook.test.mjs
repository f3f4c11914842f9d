// wawp-session/react in Node with the real React (react-dom/server): useSession renders the
// store's snapshot and binds the source's methods; re-rendering after a change shows the change.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createElement } from "react";
import { renderToString } from "react-dom/server";
import { pkg, startSim } from "./helpers.mjs";

const { useSession } = await import(new URL("../../pkg/src/react.js", import.meta.url).href);
const { SessionSupervisor, WawpClient } = pkg;

let sim;
before(async () => {
  sim = await startSim({ speed: 60, seed: 9 });
});
after(async () => sim?.close());

test("useSession renders the snapshot, binds the actions and follows changes", async () => {
  const created = await sim.instance({ paired: true, jid: "15550004444@c.us", status: "STOPPED" });
  const client = new WawpClient({ accessToken: "sim-token", baseUrl: sim.url, instanceId: created.instance_id });
  const supervisor = new SessionSupervisor({ client });
  try {
    let seen;
    const View = () => {
      seen = useSession(supervisor);
      return createElement("p", { "data-ui": seen.uiAction }, seen.status);
    };
    assert.equal(renderToString(createElement(View)), '<p data-ui="inspect">UNKNOWN</p>');
    assert.equal(typeof seen.actions.start, "function");
    assert.equal(seen.actions.subscribe, undefined, "the store contract is not an action");
    assert.equal(seen.actions.getSnapshot, undefined);
    assert.ok(Object.isFrozen(seen.actions));

    supervisor.observe("STOPPED");
    assert.equal(renderToString(createElement(View)), '<p data-ui="start">STOPPED</p>');
    await seen.actions.start(); // unbound use: `this` is the supervisor
    const starts = (await sim.log()).requests.filter((r) => r.instanceId === created.instance_id && r.op === "start");
    assert.equal(starts.length, 1, "Power On reached the API once");
    assert.equal(seen.connection, "local");
  } finally {
    supervisor.close();
  }
});
