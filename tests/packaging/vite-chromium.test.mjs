// The packed package in a Vite production build (the "browser" condition, explicit init()),
// served from 127.0.0.1 with application/wasm and run in headless Chromium.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { build } from "vite";
import { chromium } from "playwright-core";
import { WAHA_STATUS_BODY, packedProject } from "./packed.mjs";

const project = packedProject("vite");
const closers = [project.cleanup];
after(async () => {
  for (const close of closers.reverse()) await close();
});

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };

/** Serves `root` on 127.0.0.1 with the right content types; records the paths requested. */
async function serveStatic(root) {
  const requested = [];
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, "http://127.0.0.1").pathname;
    requested.push(path);
    const file = normalize(join(root, path === "/" ? "index.html" : path));
    if (!file.startsWith(root)) return res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, requested, close: () => new Promise((r) => server.close(r)) };
}

test("a Vite production build instantiates the wasm in Chromium and decodes a status", { timeout: 60_000 }, async () => {
  await writeFile(join(project.dir, "index.html"), `<!doctype html><script type="module" src="/main.js"></script>`);
  await writeFile(
    join(project.dir, "main.js"),
    `import { init, decodeStatus, uiActionFor, Backoff, WawpError } from "wawp-session";
     let before;
     try { decodeStatus("WORKING"); } catch (e) { before = e.code; }
     await init();
     const report = decodeStatus(${JSON.stringify(WAHA_STATUS_BODY)});
     let code;
     try { new Backoff({ factor: 0.5 }); } catch (e) { code = e instanceof WawpError ? e.code : "not a WawpError"; }
     window.__result = { before, status: report.status, uiAction: uiActionFor("FAILED"), code };`,
  );
  const outDir = join(project.dir, "dist");
  await build({ root: project.dir, logLevel: "silent", configFile: false, build: { outDir } });
  const assets = await readdir(join(outDir, "assets"));
  assert.ok(assets.some((name) => name.endsWith(".wasm")), `no .wasm asset emitted: ${assets}`);

  const server = await serveStatic(outDir);
  closers.push(server.close);
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  closers.push(() => browser.close());
  const page = await browser.newPage();
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(server.url);
  await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 20_000 });
  const result = await page.evaluate(() => window.__result);

  assert.deepEqual(pageErrors, []);
  assert.deepEqual(result, { before: "closed", status: "WORKING", uiAction: "troubleshoot", code: "invalid_option" });
  assert.ok(server.requested.some((path) => path.endsWith(".wasm")), "the wasm was fetched from the server");
});
