import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { edgeBundleReport, kb, type BundleReport } from '../checks/bundle-size';
import { log, machine, pairedRatio, pairedRatioInterval, parseFlags, table, type Flags } from './common';
import { startFixtures } from './fixtures';
import { runHttp, stopAllServers, type HttpResult } from './http';
import type { InProcessResult } from './inprocess';

/**
 * `npm run bench` (issue #7): the five scenarios in process and over HTTP, a table on stdout, the
 * full result as JSON in bench-results/bench-<timestamp>.json, and the two must-show checks as
 * PASS/FAIL lines. Exits non-zero only when something failed (errors, bad answers), never on ratios.
 *
 *   npm run bench                              # ~60 s in process + ~60 s over HTTP
 *   npm run bench -- --quick                   # a smoke run (~40 s)
 *   npm run bench -- --skip-http --profile     # in process only, with a V8 CPU profile
 *
 * Flags (or BENCH_<NAME> environment variables): --inproc-seconds 60 --inproc-round-ms 500
 * --concurrency 8 --cold-tokens 6000 --http-seconds 60 --http-round-seconds 2 --connections 16
 * --only c,d --skip-inproc --skip-http --profile --out-dir bench-results --quick
 */

const MUST_INPROC_RPS_RATIO = 0.95;
const MUST_HTTP_P99_RATIO = 1.1;

async function runInProcessChild(flags: Flags, outDir: string): Promise<InProcessResult> {
  const resultFile = join(outDir, `.inproc-${process.pid}.json`);
  const script = new URL('./inprocess.ts', import.meta.url).pathname;
  const profileArgs = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(outDir, 'profiles')}`] : [];
  // stdout is /dev/null so the "stdout" audit variant pays for real writes without flooding this terminal.
  const devNull = openSync('/dev/null', 'w');
  const child = spawn(process.execPath, [...profileArgs, ...process.execArgv, script], {
    stdio: ['ignore', devNull, 'inherit'],
    env: { ...process.env, BENCH_CHILD_FLAGS: JSON.stringify(flags), BENCH_CHILD_RESULT: resultFile },
  });
  closeSync(devNull);
  const limitMs = flags.inprocSeconds * 2_000 + 120_000;
  const code = await new Promise<number | null>((done) => {
    const timer = setTimeout(() => {
      log(`[inproc] no result after ${limitMs / 1000} s: stopping it`);
      child.kill('SIGKILL');
    }, limitMs);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      done(exitCode);
    });
  });
  if (code !== 0 || !existsSync(resultFile)) throw new Error(`in-process benchmark failed (exit ${code})`);
  const result = JSON.parse(readFileSync(resultFile, 'utf8')) as InProcessResult;
  rmSync(resultFile, { force: true });
  return result;
}

/** Sources newer than .next/BUILD_ID: the HTTP numbers would then measure old code. */
function staleSources(): string[] {
  let built: number;
  try {
    built = statSync('.next/BUILD_ID').mtimeMs;
  } catch {
    return [];
  }
  const newer: string[] = [];
  const visit = (path: string) => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(path);
    } catch {
      return;
    }
    if (st.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
    else if (/\.(ts|tsx|json)$/.test(path) && st.mtimeMs > built) newer.push(path);
  };
  for (const root of [
    'lib',
    'app',
    'tools',
    'middleware.ts',
    'instrumentation.ts',
    'next.config.ts',
    'package-lock.json',
  ])
    visit(root);
  return newer;
}

const fixed = (n: number | undefined, digits = 2) =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  const outDir = resolve(flags.outDir);
  mkdirSync(outDir, { recursive: true });
  const startedAt = new Date();
  const before = machine();
  log(
    `[bench] ${before.cpus} x ${before.cpuModel}, ${before.memoryGiB} GiB, Node ${before.node}, load ${(before.loadavg as number[]).join(' ')}`,
  );

  let failures = 0;
  let inproc: InProcessResult | undefined;
  let http: HttpResult | undefined;
  let bundle: BundleReport | undefined;

  if (!flags.skipInproc) {
    try {
      inproc = await runInProcessChild(flags, outDir);
    } catch (error) {
      failures++;
      log(`[inproc] ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const stale = flags.skipHttp ? [] : staleSources();
  if (stale.length > 0) {
    log(
      `[http] WARNING: .next is older than ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ` and ${stale.length - 5} more` : ''}: run \`npx next build\` first or the HTTP numbers measure old code`,
    );
  }
  if (!flags.skipHttp) {
    const fixtures = await startFixtures();
    try {
      http = await runHttp(flags, fixtures);
    } catch (error) {
      failures++;
      log(`[http] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    } finally {
      await fixtures.close();
    }
  }
  try {
    bundle = edgeBundleReport('.next');
  } catch (error) {
    log(`[bundle] not measured: ${error instanceof Error ? error.message : String(error)}`);
  }

  const out: string[] = [];
  const m = machine();
  out.push(`## npm run bench — ${startedAt.toISOString()}`, '');
  out.push(
    `Machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB RAM, Node ${m.node} (${m.platform}); load average before ${(before.loadavg as number[]).join(' ')}, after ${(m.loadavg as number[]).join(' ')}`,
  );
  out.push(
    'Values are medians over interleaved rounds; ratios are medians of per-round ratios to the (a) round run in the same pass.',
    '',
  );
  if (inproc) {
    out.push(
      `In process: handlers called with Request objects, ${inproc.concurrency} concurrent closed-loop callers, ${inproc.rounds} rounds of ${inproc.roundMs} ms per scenario; ` +
        `identity API requests during measurement: ${inproc.identityApiRequestsDuringMeasurement}, JWKS fetches: ${inproc.jwksFetches}.`,
      '',
    );
    out.push(table('In process, audit to a no-op sink', inproc.noop), '');
    out.push(table('In process, default stdout JSON-line audit sink (stdout = /dev/null)', inproc.stdout), '');
  }
  if (http) {
    out.push(
      `Over HTTP: autocannon, ${http.connections} connections, ${http.rounds} rounds of ${http.roundSeconds} s per scenario, loopback. ` +
        `(a) runs behind a node:http adapter in its own process, NOT under next start; (b)-(e) run under next start (.next build ${http.nextStart.buildId ?? '?'}) ` +
        `with audit lines on stdout = /dev/null. Identity API requests during measurement: ${http.identityApiRequestsDuringMeasurement}.`,
      '',
    );
    out.push(table('Over HTTP', http.scenarios), '');
    if (stale.length > 0)
      out.push(
        `WARNING: the .next build is older than ${stale.length} source file(s) (${stale.slice(0, 3).join(', ')}...): these HTTP numbers measure an older build.`,
        '',
      );
  }
  if (bundle) {
    out.push(
      `Edge bundle: /mcp ${kb(bundle.mcp.gzipBytes)} gzipped (${kb(bundle.mcp.bytes)} raw, ${bundle.mcp.files.length} files, gzip level ${bundle.gzipLevel} per file)` +
        (bundle.middleware ? `; middleware ${kb(bundle.middleware.gzipBytes)} gzipped` : ''),
      '',
    );
  }

  type Interval = { low: number; high: number };
  const checks: Array<{
    name: string;
    value: number | undefined;
    limit: string;
    pass: boolean | undefined;
    detail: string;
    interval?: Interval;
    decided?: boolean;
  }> = [];
  const a = inproc?.noop.find((s) => s.id === 'a');
  const c = inproc?.noop.find((s) => s.id === 'c');
  const inprocInterval = a && c ? pairedRatioInterval(c.rounds, a.rounds, (r) => r.rps) : undefined;
  checks.push({
    name: 'in process: (c) private-tool throughput >= 0.95 x (a)',
    value: c?.rpsRatioToA,
    limit: `>= ${MUST_INPROC_RPS_RATIO}`,
    pass: c?.rpsRatioToA === undefined ? undefined : c.rpsRatioToA >= MUST_INPROC_RPS_RATIO,
    detail: `no-op sink; with the stdout sink ${fixed(inproc?.stdout.find((s) => s.id === 'c')?.rpsRatioToA)}`,
    interval: inprocInterval,
    decided:
      inprocInterval && (inprocInterval.low >= MUST_INPROC_RPS_RATIO || inprocInterval.high < MUST_INPROC_RPS_RATIO),
  });
  const hb = http?.scenarios.find((s) => s.id === 'b');
  const hc = http?.scenarios.find((s) => s.id === 'c');
  const p99Ratio = hb && hc ? pairedRatio(hc.rounds, hb.rounds, (r) => r.p99) : undefined;
  const httpInterval = hb && hc ? pairedRatioInterval(hc.rounds, hb.rounds, (r) => r.p99) : undefined;
  checks.push({
    interval: httpInterval,
    decided: httpInterval && (httpInterval.high <= MUST_HTTP_P99_RATIO || httpInterval.low > MUST_HTTP_P99_RATIO),
    name: 'over HTTP: p99 of (c) <= 1.1 x p99 of (b)',
    value: p99Ratio,
    limit: `<= ${MUST_HTTP_P99_RATIO}`,
    pass: p99Ratio === undefined ? undefined : p99Ratio <= MUST_HTTP_P99_RATIO,
    detail:
      hb && hc
        ? `median of per-round ratios; median p99 (c) ${fixed(hc.p99, 1)} ms vs (b) ${fixed(hb.p99, 1)} ms; ` +
          `pooled over all rounds ${fixed(hc.pooledP99, 1)} vs ${fixed(hb.pooledP99, 1)} ms = ${fixed((hc.pooledP99 ?? NaN) / (hb.pooledP99 ?? NaN))}`
        : 'not measured',
  });
  for (const check of checks) {
    const verdict = check.pass === undefined ? 'SKIP' : check.pass ? 'PASS' : 'FAIL';
    const interval = check.interval
      ? `; 95% bootstrap interval over rounds ${fixed(check.interval.low)}-${fixed(check.interval.high)}${check.decided ? '' : ', which straddles the limit: this run cannot decide'}`
      : '';
    out.push(`${verdict}: ${check.name}: ${fixed(check.value)} (${check.limit}; ${check.detail}${interval})`);
  }

  const errors = [...(inproc?.noop ?? []), ...(inproc?.stdout ?? []), ...(http?.scenarios ?? [])].reduce(
    (s, r) => s + r.errors,
    0,
  );
  if (errors > 0) {
    failures++;
    out.push(`ERROR: ${errors} failed or unexpected responses during measurement`);
  }

  const file = join(
    outDir,
    `bench-${startedAt
      .toISOString()
      .replaceAll(':', '-')
      .replace(/\.\d+Z$/, 'Z')}.json`,
  );
  writeFileSync(
    file,
    `${JSON.stringify({ startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), machine: { ...m, loadavgBefore: before.loadavg }, flags, inProcess: inproc, http, staleBuildSources: stale, bundle, checks, errors, failures }, null, 2)}\n`,
  );
  out.push('', `JSON: ${file}`);
  if (flags.profile)
    out.push(
      `CPU profile of the in-process run: ${join(outDir, 'profiles')} (summarize: npx tsx scripts/bench/profile-summary.ts ${join(outDir, 'profiles')})`,
    );
  console.log(out.join('\n'));
  return failures > 0 ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`[bench] ${signal}: stopping servers`);
    void stopAllServers().finally(() => process.exit(130));
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (error: unknown) => {
    log(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await stopAllServers();
    process.exitCode = 1;
  },
);
