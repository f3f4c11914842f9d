import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { startReceiver, waitFor } from "./helpers.mjs";

const CLI = fileURLToPath(new URL("../cli.mjs", import.meta.url));

test("CLI: prints the URL, serves, logs a line per request with --verbose, stops on SIGTERM", async () => {
  const receiver = await startReceiver();
  const child = spawn(
    process.execPath,
    [CLI, "--port", "0", "--speed", "100", "--seed", "3", "--token", "cli-token", "--flavor", "wawp",
      "--webhook-url", receiver.url, "--webhook-shape", "wawp", "--hmac-key", "cli-key", "--verbose"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  try {
    const lines = [];
    createInterface({ input: child.stdout }).on("line", (l) => lines.push(l));
    const url = await waitFor("URL line", () => lines[0]);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const created = await (await fetch(`${url}/v2/session/create?access_token=cli-token`, { method: "POST" })).json();
    await fetch(`${url}/v2/session/start?access_token=cli-token&instance_id=${created.instance_id}`);
    await waitFor("verbose lines", () => lines.length >= 3);
    assert.match(lines[1], /POST \/v2\/session\/create\?access_token=REDACTED op=create instance=\w{12} -> 200 ok$/);
    assert.ok(!lines.join("\n").includes("cli-token"));
    await waitFor("webhook", () => receiver.received.length >= 1);
    assert.ok(receiver.received[0].headers["x-wawp-signature"]);
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    assert.equal(code, 0);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await receiver.close();
  }
});

test("CLI: bad flags exit with a usage message", async () => {
  const child = spawn(process.execPath, [CLI, "--flavor", "soap"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const [code] = await once(child, "exit");
  assert.equal(code, 2);
  assert.match(stderr, /flavor must be "wawp" or "waha"/);
  assert.match(stderr, /usage: npm run sim/);
});
