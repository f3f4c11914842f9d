// The packed package's TypeScript surface: resolved through `exports` ("types" condition),
// strict-mode consumer code type-checks, the string-literal unions reject bad values, and no
// exported declaration uses `any`.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import ts from "typescript";
import { API_NAMES, consumerProgram, packedProject } from "./packed.mjs";

const project = packedProject("types");
after(() => project.cleanup());

const CONSUMER = `
import {
  init, decodeStatus, uiActionFor, normalizeJid, compareIdentity, parseRetryAfter, stability,
  Backoff, LifecycleMachine, RetryBudget, WawpError, WawpClient, SessionSupervisor,
  verifyWebhook, parseWebhook, parseWebhooks, mintInstanceToken, verifyInstanceToken,
  type InstanceTokenScope, type InstanceTokenClaims,
  type SessionStatus, type UiAction, type ErrorCode, type StatusReport, type Action,
  type MachineEvent, type StabilityMetrics, type RestartKind, SessionDriver, type DriverEvent, type DriverEffect,
  type SessionView,
} from "wawp-session";

await init();
const report: StatusReport = decodeStatus({ event: "session.status", payload: { status: "WORKING" } });
const status: SessionStatus = report.status;
const ui: UiAction = uiActionFor(status);
const verdict: "match" | "mismatch" | "unverifiable" = compareIdentity(normalizeJid("1@c.us"), { id: "1@c.us" });
const delay: number | undefined = new Backoff({ jitter: "equal", seed: 1 }).next(parseRetryAfter("3", Date.now()));
const machine = new LifecycleMachine({ startingTimeoutMs: 60_000, maintenance: { weekday: 0, hourUtc: 3 } });
const event: MachineEvent = { type: "send", id: "m1", timeoutMs: 5000 };
machine.handle(event, Date.now());
const outcome: MachineEvent = { type: "send_result", id: "m1", ok: false, error: "rate_limited", httpStatus: 429, retryAfterMs: 1000, maybeDelivered: false };
machine.handle(outcome, Date.now());
for (let a: Action | undefined; (a = machine.pollAction()) !== undefined; ) {
  if (a.type === "call") { const op: "start" | "restart" | "stop" | "logout" | "info" | "me" = a.op; void op; }
  if (a.type === "reject_send") { const code: ErrorCode = a.code; void code; }
  if (a.type === "hold_send") { const attempts: number = a.attempts; void attempts; }
  if (a.type === "resolve_send") { const id: string = a.id; void id; }
}
const restored: LifecycleMachine = LifecycleMachine.fromJSON(machine.toJSON());
const metrics: StabilityMetrics = stability([{ atMs: 0, status: "WORKING" }], 1);
for (const r of metrics.restartEvents) { const kind: RestartKind = r.kind; const at: number = r.atMs + r.historyIndex; void [kind, at]; }
const budget = new RetryBudget(10, 1);
const spent: boolean = budget.trySpend(1, Date.now());
const driver = new SessionDriver({ budget, seed: 1, startingTimeoutMs: 60_000 });
const failed: DriverEvent = { type: "result", op: "info", ok: false, error: "server", httpStatus: 503, message: "info failed: HTTP 503" };
driver.handle(failed, Date.now());
driver.handle({ type: "send_result", id: "m1", ok: true, messageId: "true_1@c.us_ABC" }, Date.now());
driver.observe('{"event":"session.status","payload":{"status":"WORKING"}}', Date.now());
for (const e of driver.drainEffects()) {
  if (e.type === "result") { const refused: ErrorCode = e.error; void refused; }
  if (e.type === "call") { const op: "start" | "restart" | "stop" | "logout" | "info" | "me" = e.op; void op; }
}
const next: DriverEffect | undefined = driver.pollEffect();
const view: SessionView = driver.view();
const shown: UiAction = view.uiAction;
const lastMessage: string | undefined = view.lastError?.message;
const since: number | null = view.statusSinceMs;
driver.restored(Date.now());
const reloaded: SessionDriver = SessionDriver.fromJSON(driver.toJSON());
void [next, shown, lastMessage, since, reloaded];
try { decodeStatus("{"); } catch (e) { if (e instanceof WawpError) { const c: ErrorCode = e.code; void c; } }
const minted: { token: string; expiresAt: number } = await mintInstanceToken({ instanceId: "i", scopes: ["view", "send"], adminToken: "a".repeat(16) });
const claims: InstanceTokenClaims = await verifyInstanceToken(minted.token, { adminToken: "a".repeat(16), scope: "send" });
const scope: InstanceTokenScope = claims.scopes[0] ?? "view";
void [ui, verdict, delay, restored, metrics, spent, scope, WawpClient, SessionSupervisor, verifyWebhook, parseWebhook, parseWebhooks];

// The unions are real: each of these must be a type error.
// @ts-expect-error not a SessionStatus
const badStatus: SessionStatus = "SLEEPING";
// @ts-expect-error not a jitter kind
new Backoff({ jitter: "sometimes" });
// @ts-expect-error not a machine event
machine.handle({ type: "reboot" }, 0);
// @ts-expect-error maybeDelivered is a boolean
machine.handle({ type: "send_result", id: "m1", ok: false, maybeDelivered: "no" }, 0);
// @ts-expect-error not an ErrorCode
const badCode: ErrorCode = "oops";
// @ts-expect-error not a RestartKind
const badKind: RestartKind = "manual";
// @ts-expect-error not a driver effect
const badEffect: DriverEffect = { type: "repaint" };
// @ts-expect-error messageId belongs to send_result
driver.handle({ type: "result", op: "info", ok: true, messageId: "x" }, 0);
// @ts-expect-error not a scope
await mintInstanceToken({ instanceId: "i", scopes: ["admin"], adminToken: "a".repeat(16) });
void [badStatus, badCode, badKind, badEffect];
`;

const program = () => consumerProgram(project.dir, CONSUMER);

test("strict consumer code type-checks against the packed types", () => {
  const p = program();
  const diagnostics = ts.getPreEmitDiagnostics(p).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  assert.deepEqual(diagnostics, []);
});

test("no exported declaration of the package uses `any`", () => {
  const p = program();
  const checker = p.getTypeChecker();
  const consumer = p.getSourceFiles().find((f) => f.fileName.endsWith("consumer.ts"));
  const importDecl = consumer.statements.find(ts.isImportDeclaration);
  const moduleSymbol = checker.getSymbolAtLocation(importDecl.moduleSpecifier);
  assert.match(moduleSymbol.valueDeclaration.getSourceFile().fileName, /wawp-session\/src\/index\.d\.ts$/);

  const exported = checker.getExportsOfModule(moduleSymbol);
  const names = exported.map((s) => s.name);
  for (const name of API_NAMES) assert.ok(names.includes(name), `types miss ${name}`);

  const offenders = [];
  for (const symbol of exported) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    for (const decl of target.declarations ?? []) {
      const visit = (node) => {
        if (node.kind === ts.SyntaxKind.AnyKeyword) {
          const { line } = node.getSourceFile().getLineAndCharacterOfPosition(node.getStart());
          offenders.push(`${symbol.name} (${node.getSourceFile().fileName.split("wawp-session/")[1]}:${line + 1})`);
        }
        ts.forEachChild(node, visit);
      };
      visit(decl);
    }
  }
  assert.deepEqual(offenders, []);
});
