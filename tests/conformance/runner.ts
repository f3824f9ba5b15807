import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs `conformance server` (from @modelcontextprotocol/conformance) as a child process with a
 * deadline, and reads its machine-readable results: with `--output-dir` it writes one
 * `server-<scenario>-<timestamp>/checks.json` per scenario. Its own summary lines are kept to be
 * printed when a test fails, and its own verdict on the baseline (`--expected-failures`) is kept too.
 */

export type CheckStatus = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
export type Check = { id: string; name: string; status: CheckStatus; errorMessage?: string; details?: unknown };
export type ScenarioResult = {
  scenario: string;
  checks: Check[];
  /** As the suite's baseline logic decides: any FAILURE or any WARNING check. */
  failing: boolean;
};
export type SuiteRun = {
  scenarios: ScenarioResult[];
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  stdout: string;
  stderr: string;
  /** The suite's own summary: per-scenario lines, "Total: ..." or "Passed: ...", and its baseline verdict. */
  summary: string[];
};

export const REVISIONS = ['2026-07-28', '2025-11-25'] as const;
export type Revision = (typeof REVISIONS)[number];

/** An expected failure: why, and each failing check (id -> text its message must contain). */
export type BaselineEntry = { reason: string; checks: Record<string, string> };
/** Per run ("2026-07-28 fixture-token", ...): scenario id -> expected failure. */
export type Baseline = Record<string, Record<string, BaselineEntry>>;

const here = dirname(fileURLToPath(import.meta.url));
export const BASELINE_PATH = join(here, 'baseline.json');

const require = createRequire(import.meta.url);
/** The package's CLI (its `bin`), run with this Node instead of through npx: faster and offline. */
export function conformanceCli(): string {
  const manifest = require.resolve('@modelcontextprotocol/conformance/package.json');
  const { bin } = require(manifest) as { bin: Record<string, string> };
  return join(dirname(manifest), bin.conformance ?? 'dist/index.js');
}

/**
 * The server scenarios a revision requires (`conformance list --server --requirements`); the
 * suite also runs pending and extension scenarios, which it does not score.
 */
export async function requiredScenarios(revision: Revision): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [conformanceCli(), 'list', '--server', '--requirements', revision],
    { timeout: 15_000, env: { ...process.env, NO_COLOR: '1' } },
  );
  const lines = stdout.split('\n');
  const start = lines.findIndex((line) => line.startsWith('Server scenarios'));
  const names: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const match = /^\s+- ([\w/-]+)$/.exec(line);
    if (!match) break;
    names.push(match[1] ?? '');
  }
  return names;
}

export async function readBaseline(): Promise<Baseline> {
  const raw = JSON.parse(await readFile(BASELINE_PATH, 'utf8')) as Record<string, unknown>;
  const baseline: Baseline = {};
  for (const [run, entries] of Object.entries(raw)) {
    if (run.startsWith('$')) continue; // "$comment"
    baseline[run] = entries as Record<string, BaselineEntry>;
  }
  return baseline;
}

const ANSI = /\x1b\[[0-9;]*m/g;

function summaryLines(stdout: string): string[] {
  const lines = stdout.replace(ANSI, '').split('\n');
  const start = lines.findIndex((line) => line.trim() === '=== SUMMARY ===');
  const keep = (line: string) =>
    /^[✓✗] [\w-]+: \d+ passed, \d+ failed$/.test(line) ||
    /^(Total|Passed): /.test(line) ||
    /^\s+[✓✗] [\w-]+$/.test(line) || // stale and unexpected entries; expected ones (~) are in our own line
    /^(Stale baseline|Unexpected failures|Baseline check|Baseline is stale)/.test(line);
  return (start >= 0 ? lines.slice(start) : lines).map((line) => line.trimEnd()).filter((line) => line && keep(line));
}

export type RunOptions = {
  url: string;
  /** The scenarios one revision requires (`--requirements`), frozen at its release. */
  requirements: Revision;
  /** Scenario ids expected to fail, handed to the suite as its own --expected-failures baseline. */
  expectedFailures?: string[];
  timeoutMs: number;
};

export async function runSuite(options: RunOptions): Promise<SuiteRun> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-conformance-'));
  try {
    const args = [conformanceCli(), 'server', '--url', options.url, '--output-dir', join(dir, 'results')];
    args.push('--requirements', options.requirements);
    if (options.expectedFailures) {
      const yaml = join(dir, 'expected-failures.yml');
      const list = options.expectedFailures.map((scenario) => `  - ${JSON.stringify(scenario)}\n`).join('');
      await writeFile(yaml, list ? `server:\n${list}` : 'server: []\n');
      args.push('--expected-failures', yaml);
    }
    const started = Date.now();
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    const exitCode = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    clearTimeout(timer);

    const scenarios: ScenarioResult[] = [];
    const results = join(dir, 'results');
    for (const entry of (await readdir(results).catch(() => [] as string[])).sort()) {
      const match = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry);
      if (!match) continue;
      // A scenario cut off by the deadline has a directory but no checks.json: it did not report.
      const raw = await readFile(join(results, entry, 'checks.json'), 'utf8').catch(() => undefined);
      if (raw === undefined) continue;
      const checks = JSON.parse(raw) as Check[];
      scenarios.push({
        scenario: match[1]!,
        checks,
        failing: checks.some((check) => check.status === 'FAILURE' || check.status === 'WARNING'),
      });
    }
    return {
      scenarios,
      exitCode,
      timedOut,
      durationMs: Date.now() - started,
      stdout,
      stderr,
      summary: summaryLines(stdout),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export type Comparison = {
  /** Failing, and not in the baseline. */
  unexpected: string[];
  /** In the baseline, but passing now: the entry must go. */
  stale: string[];
  /** In the baseline, but the suite did not run it (a typo, or a scenario the package dropped). */
  notRun: string[];
  /** In the baseline and failing, but not (only) the listed checks, or not for the listed reason. */
  otherReason: string[];
  expected: string[];
  passed: string[];
};

const failed = (check: Check) => check.status === 'FAILURE' || check.status === 'WARNING';

/** What a failing check says: its errorMessage, else details.message (some WARNINGs carry only that). */
export function messageOf(check: Check): string {
  const details = check.details as { message?: unknown } | undefined;
  return check.errorMessage ?? (typeof details?.message === 'string' ? details.message : check.name);
}

export function compare(results: ScenarioResult[], expected: Record<string, BaselineEntry>): Comparison {
  const ran = new Set(results.map((r) => r.scenario));
  const comparison: Comparison = { unexpected: [], stale: [], notRun: [], otherReason: [], expected: [], passed: [] };
  for (const result of results) {
    const entry = expected[result.scenario];
    if (!result.failing) {
      (entry ? comparison.stale : comparison.passed).push(result.scenario);
    } else if (!entry) {
      comparison.unexpected.push(result.scenario);
    } else {
      const failing = result.checks.filter(failed);
      const asListed =
        failing.length === Object.keys(entry.checks).length &&
        failing.every((check) => check.id in entry.checks && messageOf(check).includes(entry.checks[check.id]!));
      (asListed ? comparison.expected : comparison.otherReason).push(result.scenario);
    }
  }
  comparison.notRun = Object.keys(expected).filter((scenario) => !ran.has(scenario));
  return comparison;
}

/** One line per failing or warning check, for assertion messages and the CI log. */
export function describeFailures(results: ScenarioResult[], scenarios: string[]): string {
  return results
    .filter((r) => scenarios.includes(r.scenario))
    .flatMap((r) => r.checks.filter(failed).map((c) => `  ${r.scenario} / ${c.id} [${c.status}]: ${messageOf(c)}`))
    .join('\n');
}
