// Jitter has to differ between processes (many Node workers, many workerd isolates hitting one
// API): the core is sans-IO and has no entropy, so the package seeds unseeded Backoffs and
// machines from Math.random(). An explicit seed stays deterministic.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

const entry = new URL("../../pkg/src/entry-node.js", import.meta.url).href;

function firstDelays(optionsSource) {
  const script = `import { Backoff } from ${JSON.stringify(entry)};
    const b = new Backoff(${optionsSource});
    console.log(JSON.stringify([1, 2, 3, 4, 5].map(() => b.next())));`;
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

test("unseeded Backoffs in two processes draw different delays", () => {
  const a = firstDelays(`{ jitter: "full" }`);
  const b = firstDelays(`undefined`);
  assert.notDeepEqual(a, b);
});

test("an explicit seed gives the same delays in every process", () => {
  assert.deepEqual(firstDelays(`{ jitter: "full", seed: 42 }`), firstDelays(`{ jitter: "full", seed: 42 }`));
});

test("unseeded machines in two processes jitter their restart backoff differently", () => {
  const script = `import { LifecycleMachine } from ${JSON.stringify(entry)};
    console.log(JSON.parse(new LifecycleMachine({}).toJSON()).seed);`;
  const seeds = [0, 1].map(() => {
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout.trim();
  });
  assert.notEqual(seeds[0], "undefined");
  assert.notEqual(seeds[0], seeds[1]);
});
