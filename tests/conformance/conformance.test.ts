import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry as appRegistry } from '@/tools';
import { auditRecords, MCP_HEADERS, rpc, startApp, type RunningApp } from '../helpers/app';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';
import type { Listening } from '../helpers/net';
import { signedInToken, startFixtureServer, startTokenProxy, type FixtureServer } from './fixture-server';
import { conformanceTools } from './fixture-tools';
import { compare, describeFailures, readBaseline, runSuite, type Baseline, type SuiteRun } from './runner';

/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, `conformance server`)
 * against our handler stack, with expected failures in baseline.json:
 *
 * 1. "fixture": the whole suite (`--suite all`, pending scenarios included) against
 *    createMcpEndpoint serving the tools the scenarios call (fixture-tools.ts), with a valid
 *    bearer token injected into every request so authentication, the gate and the audited
 *    wrapper all run.
 * 2. "app-anonymous" / "app-token": the scenarios that need no particular tool against the built
 *    app (`next start`), once without a token and once through a loopback proxy adding one.
 *
 * A test fails on a failure missing from the baseline, on a baseline entry that passes (or fails
 * differently), and when the suite's own --expected-failures verdict disagrees. The suite's
 * summary lines are printed as `[conformance] ...`.
 */

const SUITE_TIMEOUT_MS = 45_000;
const SCENARIO_TIMEOUT_MS = 15_000;
/** Tool-independent scenarios run against the real app. */
const APP_SCENARIOS = [
  'server-initialize',
  'ping',
  'tools-list',
  'logging-set-level',
  'dns-rebinding-protection',
  'server-sse-multiple-streams',
];

let baseline: Baseline;
beforeAll(async () => {
  baseline = await readBaseline();
});

function print(run: string, lines: string[]): void {
  for (const line of lines) console.log(`[conformance] ${run}: ${line}`);
}

function expectMatchesBaseline(runName: string, runs: SuiteRun[]): void {
  const expected = baseline[runName] ?? {};
  const scenarios = runs.flatMap((run) => run.scenarios);
  const result = compare(scenarios, expected);
  const all = scenarios.map((s) => s.scenario);
  console.log(
    `[conformance] ${runName}: ${result.passed.length} passed, ${result.expected.length} expected failures (baseline), ` +
      `${result.unexpected.length} unexpected, ${result.stale.length + result.notRun.length + result.otherReason.length} baseline mismatches ` +
      `(scenarios; a WARNING check fails a scenario, as in the suite's baseline rule)`,
  );
  const mismatches = {
    unexpected: result.unexpected,
    stale: result.stale,
    notRun: result.notRun,
    otherReason: result.otherReason,
  };
  const explain = [
    result.unexpected.length &&
      `unexpected (failing, not in baseline.json):\n${describeFailures(scenarios, result.unexpected)}`,
    result.stale.length && `stale (in baseline.json, passing now: remove them): ${result.stale.join(', ')}`,
    result.notRun.length &&
      `notRun (in baseline.json, not run; the suite ran ${all.join(', ')}): ${result.notRun.join(', ')}`,
    result.otherReason.length &&
      `otherReason (failing other checks than baseline.json lists, or for another reason):\n${describeFailures(scenarios, result.otherReason)}\n` +
        `  baseline.json expects: ${JSON.stringify(Object.fromEntries(result.otherReason.map((s) => [s, expected[s]?.checks])))}`,
  ].filter(Boolean);
  expect(mismatches, `${runName}: the suite's results do not match baseline.json\n${explain.join('\n')}\n`).toEqual({
    unexpected: [],
    stale: [],
    notRun: [],
    otherReason: [],
  });
  // The suite's own --expected-failures verdict (exit code 0) agrees with ours.
  for (const run of runs) {
    expect(
      run.exitCode,
      `${runName}: the suite's own baseline check failed:\n${run.summary.join('\n')}\n${run.stderr}`,
    ).toBe(0);
  }
}

function expectFinished(runName: string, run: SuiteRun): void {
  const tail = `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-20).join('\n');
  expect(
    run.timedOut,
    `${runName}: the suite was stopped at its deadline (${run.durationMs} ms); last output:\n${tail}`,
  ).toBe(false);
}

describe('conformance suite against createMcpEndpoint with the fixture tools (valid token injected)', () => {
  let server: FixtureServer;
  beforeAll(async () => {
    server = await startFixtureServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('runs the whole suite as a signed-in caller; every failure is in baseline.json', {
    timeout: SUITE_TIMEOUT_MS + 15_000,
  }, async () => {
    const expected = baseline.fixture ?? {};
    const run = await runSuite({
      url: server.mcpUrl,
      expectedFailures: Object.keys(expected),
      timeoutMs: SUITE_TIMEOUT_MS,
    });
    print('fixture', run.summary);
    console.log(
      `[conformance] fixture: suite finished in ${(run.durationMs / 1000).toFixed(1)} s (exit ${run.exitCode})`,
    );
    expectFinished('fixture', run);

    // Every scenario the suite announced wrote its results (none crashed before reporting).
    const announced = Number(/Running all suite \((\d+) scenarios\)/.exec(run.stdout)?.[1]);
    expect(announced, run.stdout + run.stderr).toBeGreaterThan(0);
    expect(run.scenarios).toHaveLength(announced);
    expectMatchesBaseline('fixture', [run]);

    // The calls went through authentication, the gate and the audited wrapper as the token holder.
    const rejected = server.audit.filter((record) => record.type === 'request_rejected');
    expect(rejected, 'no request was refused: the injected token was valid').toEqual([]);
    const calls = server.audit.filter((record) => record.type === 'tool_call');
    expect(calls.every((record) => record.sub === 'user_conformance' && record.decision === 'allow')).toBe(true);
    const called = new Set(calls.map((record) => record.tool));
    for (const name of ['test_simple_text', 'test_image_content', 'test_multiple_content_types'])
      expect(called).toContain(name);
    // A tool that throws is answered with the wrapper's fixed isError result and audited as such.
    expect(calls.find((record) => record.tool === 'test_error_handling')).toMatchObject({ outcome: 'exception' });
    // Signed-in tools ran: the gate saw a user, not an anonymous caller.
    const signedIn = conformanceTools.filter((tool) => tool.access === 'signed-in').map((tool) => tool.name);
    expect(signedIn.some((name) => called.has(name))).toBe(true);
  });
});

describe('tool-independent conformance scenarios against the built app', () => {
  let issuer: TestIssuer;
  let app: RunningApp;
  let proxy: Listening;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    // A deployment that allows its own origin: the suite's DNS-rebinding scenario sends Host and
    // Origin of the URL it was given (the app, or the proxy in front of it) and expects 2xx for them.
    // The proxy binds first (port 0); the app then starts, retrying on a taken port, allowing both origins.
    let upstream = { target: '', token: '' };
    proxy = await startTokenProxy(() => upstream);
    app = await startApp((port) => ({
      AUTHKIT_DOMAIN: issuer.issuer,
      ALLOWED_ORIGINS: `http://127.0.0.1:${port},${proxy.url}`,
    }));
    upstream = { target: app.url, token: await signedInToken(issuer, `${app.url}/mcp`) };
  });
  afterAll(async () => {
    await Promise.all([proxy?.close(), app?.stop(), issuer?.close()]);
  });

  async function runScenarios(runName: string, url: string): Promise<void> {
    const expected = baseline[runName] ?? {};
    const runs: SuiteRun[] = [];
    for (const scenario of APP_SCENARIOS) {
      const run = await runSuite({
        url,
        scenario,
        expectedFailures: Object.keys(expected),
        timeoutMs: SCENARIO_TIMEOUT_MS,
      });
      print(`${runName} ${scenario}`, run.summary);
      expectFinished(`${runName} ${scenario}`, run);
      runs.push(run);
    }
    const seconds = runs.reduce((sum, run) => sum + run.durationMs, 0) / 1000;
    console.log(`[conformance] ${runName}: ${APP_SCENARIOS.length} scenarios in ${seconds.toFixed(1)} s`);
    expect(runs.flatMap((run) => run.scenarios.map((s) => s.scenario))).toEqual(APP_SCENARIOS);
    expectMatchesBaseline(runName, runs);
  }

  it('anonymously', { timeout: APP_SCENARIOS.length * SCENARIO_TIMEOUT_MS }, async () => {
    await runScenarios('app-anonymous', `${app.url}/mcp`);
  });

  it('with a valid token (added by a loopback proxy)', {
    timeout: APP_SCENARIOS.length * SCENARIO_TIMEOUT_MS,
  }, async () => {
    await runScenarios('app-token', `${proxy.url}/mcp`);

    // The proxy's token is one the app accepts: a signed-in tool runs as its subject.
    const probe = appRegistry.tools.find(
      (tool) => tool.access === 'signed-in' && Object.keys(tool.input.shape).length === 0,
    );
    if (!probe) return;
    const before = auditRecords(app.output()).length;
    const response = await fetch(`${proxy.url}/mcp`, {
      method: 'POST',
      headers: MCP_HEADERS,
      body: rpc('tools/call', { name: probe.name, arguments: {} }),
    });
    expect(response.status).toBe(200);
    await response.text();
    await expect
      .poll(() =>
        auditRecords(app.output())
          .slice(before)
          .find((record) => record.tool === probe.name),
      )
      .toMatchObject({ decision: 'allow', sub: 'user_conformance', outcome: 'ok' });
  });
});
