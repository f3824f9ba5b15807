import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { registry as appRegistry } from '@/tools';
import { auditRecords, MCP_HEADERS, rpc, startApp, type RunningApp } from '../helpers/app';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';
import type { Listening } from '../helpers/net';
import { signedInToken, startFixtureServer, startTokenProxy, type FixtureServer } from './fixture-server';
import { conformanceTools } from './fixture-tools';
import {
  compare,
  describeFailures,
  readBaseline,
  requiredScenarios,
  REVISIONS,
  runSuite,
  type Baseline,
  type Revision,
  type SuiteRun,
} from './runner';

/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, `conformance server
 * --requirements <revision>`: exactly the scenarios a revision requires, plus the pending and
 * extension ones it runs unscored) for 2026-07-28 and 2025-11-25, against four targets:
 *
 * - "fixture-token" / "fixture-anonymous": createMcpEndpoint (authentication, gate, audited
 *   wrapper) serving the suite's diagnostic primitives (fixture-registry.ts), with a valid bearer token
 *   added to every request, and without one.
 * - "app-anonymous" / "app-token": the built app (`next start`, one process for both), without a
 *   token and through a loopback proxy adding one.
 *
 * Each run is compared with baseline.json ("<revision> <target>" -> expected failures, each with
 * its reason and failing checks). A test fails on a failure missing from the baseline, on a
 * baseline entry that passes (or fails differently), and when the suite's own --expected-failures
 * verdict disagrees. Per-revision, per-target counts are printed as `[conformance] ...`.
 */

const SUITE_TIMEOUT_MS = 60_000;

let baseline: Baseline;
const required = new Map<Revision, Set<string>>();
beforeAll(async () => {
  baseline = await readBaseline();
  for (const revision of REVISIONS) {
    const names = await requiredScenarios(revision);
    expect(names.length, `conformance list --requirements ${revision}`).toBeGreaterThan(0);
    required.set(revision, new Set(names));
  }
});

/**
 * The suite's own summary for the running test, kept and printed only if the test fails: a green run
 * would otherwise show a ✗ line for every failure baseline.json expects. Its per-scenario pass lines
 * are left out (the counts line says how many).
 */
function transcriptOnFailure(): (run: string, lines: string[]) => void {
  const kept: string[] = [];
  onTestFailed(() => {
    console.log(`[conformance] the suite's own summary for this test:\n${kept.join('\n')}`);
  });
  return (run, lines) => {
    for (const line of lines) if (!line.startsWith('✓')) kept.push(`[conformance] ${run}: ${line}`);
  };
}

/**
 * What the built app answers to these depends on what tools/ holds (whether it serves resources,
 * prompts, completions at all), so the app targets leave them to the fixture targets, which serve
 * primitives of every kind: a template owner adding or removing one changes no expectation here.
 */
const DEPENDS_ON_APP_PRIMITIVES =
  /^(resources-|prompts-|completion-|sep-2164-resource-not-found$|input-required-result-non-tool-request$|caching$)/;
const isAppTarget = (target: string) => target.startsWith('app-');

function expectMatchesBaseline(revision: Revision, target: string, runs: SuiteRun[]): void {
  const runName = `${revision} ${target}`;
  const judged = (scenario: string) => !isAppTarget(target) || !DEPENDS_ON_APP_PRIMITIVES.test(scenario);
  const expected = Object.fromEntries(Object.entries(baseline[runName] ?? {}).filter(([s]) => judged(s)));
  const scenarios = runs.flatMap((run) => run.scenarios).filter((s) => judged(s.scenario));
  const result = compare(scenarios, expected);
  const all = scenarios.map((s) => s.scenario);
  const scored = required.get(revision) ?? new Set<string>();
  const isRequired = (scenario: string) => scored.has(scenario);
  console.log(
    `[conformance] ${runName}: ${result.passed.filter(isRequired).length}/${all.filter(isRequired).length} required scenarios passed, ` +
      `${result.expected.filter(isRequired).length} in the baseline; unscored (pending/extension): ` +
      `${result.passed.filter((s) => !isRequired(s)).length}/${all.filter((s) => !isRequired(s)).length} passed; ` +
      `${result.unexpected.length} unexpected, ${result.stale.length + result.notRun.length + result.otherReason.length} baseline mismatches`,
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
  // The suite's own --expected-failures verdict (exit code 0) agrees with ours (the fixture targets,
  // whose expected failures do not depend on tools/).
  if (isAppTarget(target)) return;
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

/** Both revisions against one target, concurrently (each run is its own child process). */
async function runRevisions(target: string, url: string): Promise<SuiteRun[]> {
  const runs = await Promise.all(
    REVISIONS.map((revision: Revision) =>
      runSuite({
        url,
        requirements: revision,
        expectedFailures: Object.keys(baseline[`${revision} ${target}`] ?? {}),
        timeoutMs: SUITE_TIMEOUT_MS,
      }),
    ),
  );
  const keep = transcriptOnFailure();
  REVISIONS.forEach((revision, i) => {
    const run = runs[i] as SuiteRun;
    const name = `${revision} ${target}`;
    keep(name, [...run.summary, `suite finished in ${(run.durationMs / 1000).toFixed(1)} s (exit ${run.exitCode})`]);
    expectFinished(name, run);
    // Every scenario the suite announced wrote its results (none crashed before reporting).
    expect(run.scenarios.length, run.stdout + run.stderr).toBeGreaterThan(0);
  });
  for (const [i, revision] of REVISIONS.entries()) expectMatchesBaseline(revision, target, [runs[i] as SuiteRun]);
  return runs;
}

const RUN_TIMEOUT_MS = SUITE_TIMEOUT_MS + 15_000;

describe('conformance suite against createMcpEndpoint with the fixture tools', () => {
  // One at a time: each fixture server installs the (process-wide) audit sink it records into.
  let signedIn: FixtureServer;
  beforeAll(async () => {
    signedIn = await startFixtureServer();
  });
  afterAll(async () => {
    await signedIn?.close();
  });

  it('as a signed-in caller (valid token injected); every failure is in baseline.json', {
    timeout: RUN_TIMEOUT_MS,
  }, async () => {
    await runRevisions('fixture-token', signedIn.mcpUrl);

    // The calls went through authentication, the gate and the audited wrapper as the token holder.
    const calls = signedIn.audit.filter((record) => record.type === 'tool_call');
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((record) => record.sub === 'user_conformance')).toBe(true);
    const called = new Set(calls.filter((r) => r.decision === 'allow').map((record) => record.tool));
    for (const name of ['test_simple_text', 'test_image_content', 'test_multiple_content_types', 'test_custom_headers'])
      expect(called).toContain(name);
    // A tool that throws is answered with the wrapper's fixed isError result and audited as such.
    expect(calls.find((record) => record.tool === 'test_error_handling')).toMatchObject({ outcome: 'exception' });
    // Signed-in tools ran: the gate saw a user, not an anonymous caller.
    const signedInTools = conformanceTools.filter((tool) => tool.access === 'signed-in').map((tool) => tool.name);
    expect(signedInTools.some((name) => called.has(name))).toBe(true);
    // The suite's header-validation probes were refused before anything ran, and audited.
    const refused = signedIn.audit.filter((record) => record.type === 'request_rejected');
    expect(refused.some((record) => String(record.reason).startsWith('param_header_'))).toBe(true);
    expect(refused.some((record) => String(record.reason).endsWith('_header_mismatch'))).toBe(true);
  });
});

describe('conformance suite against createMcpEndpoint with the fixture tools, anonymously', () => {
  let anonymous: FixtureServer;
  beforeAll(async () => {
    anonymous = await startFixtureServer({ signedIn: false });
  });
  afterAll(async () => {
    await anonymous?.close();
  });

  it('anonymously; every failure is in baseline.json', { timeout: RUN_TIMEOUT_MS }, async () => {
    await runRevisions('fixture-anonymous', anonymous.mcpUrl);
    // Public tools ran for nobody in particular; signed-in ones never did.
    const calls = anonymous.audit.filter((record) => record.type === 'tool_call');
    const ran = calls.filter((record) => record.outcome === 'ok' || record.outcome === 'exception');
    expect(ran.length).toBeGreaterThan(0);
    expect(ran.every((record) => record.sub === undefined)).toBe(true);
    const signedInTools = new Set(conformanceTools.filter((t) => t.access !== 'public').map((t) => t.name));
    expect(ran.filter((record) => signedInTools.has(String(record.tool)))).toEqual([]);
  });
});

describe('conformance suite against the built app', () => {
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

  it('anonymously', { timeout: RUN_TIMEOUT_MS }, async () => {
    await runRevisions('app-anonymous', `${app.url}/mcp`);
  });

  it('with a valid token (added by a loopback proxy)', { timeout: RUN_TIMEOUT_MS }, async () => {
    await runRevisions('app-token', `${proxy.url}/mcp`);

    // The proxy's token is one the app accepts: a signed-in tool runs as its subject.
    const probe = appRegistry.tools.find(
      (tool) => tool.access === 'signed-in' && Object.keys(tool.input.shape).length === 0,
    );
    expect(probe).toBeDefined();
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
