// The packed package in workerd (miniflare from npm): a worker bundled by esbuild with the
// "workerd" condition; the .wasm stays a separate module that workerd compiles (CompiledWasm).

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { WAHA_STATUS_BODY, packedProject } from "./packed.mjs";

const project = packedProject("workerd");
const closers = [project.cleanup];
after(async () => {
  for (const close of closers.reverse()) await close();
});

test("a workerd worker imports the package, instantiates the wasm and decodes a status", { timeout: 60_000 }, async () => {
  const entry = join(project.dir, "worker.js");
  await writeFile(
    entry,
    `import { decodeStatus, LifecycleMachine, WawpError, mintInstanceToken, verifyInstanceToken } from "wawp-session";
     export default {
       async fetch(request) {
         const token = request.headers.get("x-token");
         if (token) {
           const key = { signingKey: "packaging-signing-key-1234" };
           const claims = await verifyInstanceToken(token, { ...key, instanceId: "inst-1", scope: "send" });
           const minted = await mintInstanceToken({ ...key, instanceId: "inst-2", scopes: ["view"] });
           return Response.json({ claims, minted });
         }
         const report = decodeStatus(await request.text());
         const machine = new LifecycleMachine({ startingTimeoutMs: 60000 });
         machine.handle({ type: "status", input: report }, Date.now());
         let code;
         try { machine.handle({ type: "nonsense" }, Date.now()); } catch (e) { code = e instanceof WawpError ? e.code : "not a WawpError"; }
         return Response.json({ status: report.status, machineStatus: machine.status, code,
           isWorkerd: typeof navigator !== "undefined" && navigator.userAgent });
       },
     };`,
  );
  const outdir = join(project.dir, "out");
  await build({
    entryPoints: [entry], bundle: true, format: "esm", platform: "neutral", outdir, logLevel: "silent",
    conditions: ["workerd", "worker", "browser"], loader: { ".wasm": "copy" },
  });

  const mf = new Miniflare({
    modules: true,
    scriptPath: join(outdir, "worker.js"),
    modulesRoot: outdir,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-01-01",
  });
  closers.push(() => mf.dispose());
  const response = await mf.dispatchFetch("http://localhost/", { method: "POST", body: WAHA_STATUS_BODY });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  const result = JSON.parse(text);
  assert.equal(result.status, "WORKING");
  assert.equal(result.machineStatus, "WORKING");
  assert.equal(result.code, "invalid_payload");
  assert.equal(result.isWorkerd, "Cloudflare-Workers");

  // Instance tokens: minted in Node, verified in workerd, and the other way round.
  const { mintInstanceToken, verifyInstanceToken } = await import(join(project.dir, "node_modules/wawp-session/src/entry-node.js"));
  const key = { signingKey: "packaging-signing-key-1234" };
  const fromNode = await mintInstanceToken({ ...key, instanceId: "inst-1", scopes: ["send"] });
  const tokens = await mf.dispatchFetch("http://localhost/", { headers: { "x-token": fromNode.token } });
  const answer = await tokens.json();
  assert.deepEqual(answer.claims.scopes, ["send"]);
  assert.equal(answer.claims.expiresAt, fromNode.expiresAt);
  const back = await verifyInstanceToken(answer.minted.token, { ...key, instanceId: "inst-2", scope: "view" });
  assert.equal(back.instanceId, "inst-2");
});
