// The packed package's types for the session store, connectEdgeSession and the `wawp-session/react`
// subpath: strict consumer code type-checks (through `exports`), wrong uses are errors, no `any`,
// and the main entry does not pull React in.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { consumerProgram, packedProject } from "./packed.mjs";

const project = packedProject("session-types");
after(() => project.cleanup());

const CONSUMER = `
import {
  init, connectEdgeSession, SessionSupervisor, WawpClient, EdgeSession,
  type SessionSnapshot, type SessionSource, type SessionMessage, type MessageState, type UiAction,
} from "wawp-session";
import { useSession } from "wawp-session/react";

await init();
const edge: EdgeSession = connectEdgeSession({
  baseUrl: "/api", instanceId: "i1", token: async () => "t", transport: "auto", pollIntervalMs: 2000,
  reconnect: { baseMs: 100, capMs: 5000 },
});
const stop: () => void = edge.subscribe(() => {
  const s: SessionSnapshot = edge.getSnapshot();
  const ui: UiAction = s.uiAction;
  const qr: string | null = s.qr;
  const first: SessionMessage | undefined = s.messages[0];
  const state: MessageState | undefined = first?.state;
  void [ui, qr, state];
});
stop();
const sent: Promise<{ id: string; state: MessageState; messageId?: string }> = edge.send({ chatId: "1@c.us", text: "hi" });
const code: Promise<string> = edge.requestPairingCode("15551234567");
const supervisor = new SessionSupervisor({ client: new WawpClient({ accessToken: "t" }) });
const sources: SessionSource[] = [edge, supervisor];

function EdgeView() {
  const session = useSession(edge);
  const status: string = session.status;
  void session.actions.start();
  void session.actions.send({ chatId: "1@c.us", text: "x" });
  // @ts-expect-error the store contract is not an action
  session.actions.subscribe;
  return status;
}
function LocalView() {
  const { uiAction, actions } = useSession(supervisor);
  void actions.retry();
  void actions.sendWhenReady(() => 1, { message: { chatId: "1@c.us", text: "x" } });
  return uiAction;
}

// Wrong uses are errors.
// @ts-expect-error a transport that does not exist
connectEdgeSession({ baseUrl: "/api", instanceId: "i1", transport: "websocket" });
// @ts-expect-error instanceId is required
connectEdgeSession({ baseUrl: "/api" });
// @ts-expect-error snapshots are read-only
edge.getSnapshot().status = "WORKING";
// @ts-expect-error not a message state
const badState: MessageState = "delivered-twice";
void [sent, code, sources, EdgeView, LocalView, badState];
`;

const program = () => consumerProgram(project.dir, CONSUMER);

test("strict consumer code of the store, the edge session and the React hook type-checks", () => {
  const diagnostics = ts.getPreEmitDiagnostics(program()).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  assert.deepEqual(diagnostics, []);
});

test("the new declarations use no `any`", () => {
  const p = program();
  const offenders = [];
  for (const file of p.getSourceFiles()) {
    if (!/wawp-session\/src\/(store|edge-session|react|supervisor)\.d\.ts$/.test(file.fileName)) continue;
    const visit = (node) => {
      if (node.kind === ts.SyntaxKind.AnyKeyword) offenders.push(`${file.fileName}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`);
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  assert.deepEqual(offenders, []);
  const names = p.getSourceFiles().map((f) => f.fileName).filter((n) => /wawp-session\/src\/(store|edge-session|react)\.d\.ts$/.test(n));
  assert.equal(names.length, 3, `all three declaration files were checked: ${names}`);
});

test("React stays out of the main entry: only the ./react subpath imports it, as an optional peer", () => {
  const dir = join(project.dir, "node_modules/wawp-session");
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  assert.deepEqual(manifest.peerDependenciesMeta?.react, { optional: true });
  assert.equal(manifest.dependencies?.react, undefined);
  assert.equal(manifest.exports["./react"].default, "./src/react.js");
  for (const file of ["core.js", "entry-web.js", "entry-node.js", "entry-workerd.js", "store.js", "edge-session.js", "supervisor.js"]) {
    assert.doesNotMatch(readFileSync(join(dir, "src", file), "utf8"), /from\s+["']react["']/, `${file} must not import react`);
  }
  assert.match(readFileSync(join(dir, "src/react.js"), "utf8"), /from "react"/);
});
