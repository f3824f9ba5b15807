import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { edgeBundleReport, kb, type BundleReport } from '../checks/bundle-size';
import { compileInProcessBench } from './compile';
import {
  log,
  machine,
  pairedRatio,
  pairedRatioInterval,
  parseFlags,
  table,
  WIRES,
  type Flags,
  type Round,
  type ScenarioSummary,
} from './common';
import { startFixtures } from './fixtures';
import { runHttp, stopAllServers, type HttpResult } from './http';
import type { InProcessResult } from './inprocess';
import { ensureVariants, VARIANT_NOTES, VARIANTS } from './variants';

/**
 * `npm run bench` (issue 17): every scenario in process and over HTTP on both wires, against the
 * peers users would otherwise deploy, under `next start` with /mcp on Edge, on Node and with every
 * request through the middleware (bench-only builds, variants.ts). Tables on stdout, the full result as JSON in
 * bench-results/bench-<timestamp>.json, and every must-show check as PASS / FAIL / CANNOT DECIDE
 * from its 95 % interval over rounds. Exits non-zero only when something failed (errors, bad
 * answers, a build), never on a ratio.
 *
 *   npm run bench                              # ~90 s in process + ~240 s over HTTP (+ builds when stale)
 *   npm run bench -- --quick                   # a smoke run (~20 s + ~40 s)
 *   npm run bench -- --skip-http --profile     # in process only, with a V8 CPU profile
 *
 * Flags (or BENCH_<NAME> environment variables): --inproc-seconds 90 --inproc-round-ms 250
 * --concurrency 8 --cold-tokens 6000 --http-seconds 240 --http-round-seconds 1 --connections 16
 * --only c,d --skip-inproc --skip-http --profile --out-dir bench-results --quick
 */

async function runInProcessChild(flags: Flags, outDir: string): Promise<InProcessResult> {
  const resultFile = join(outDir, `.inproc-${process.pid}.json`);
  // Compiled as the deployment compiles it (compile.ts), and run by plain node: no tsx loader.
  const script = await compileInProcessBench();
  const profileArgs = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(outDir, 'profiles')}`] : [];
  // stdout is /dev/null so the "stdout" audit variant pays for real writes without flooding this terminal.
  const devNull = openSync('/dev/null', 'w');
  const child = spawn(process.execPath, [...profileArgs, script], {
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

const fixed = (n: number | undefined, digits = 2) =>
  n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits);

type Verdict = 'PASS' | 'FAIL' | 'CANNOT DECIDE' | 'SKIP';
type Check = {
  name: string;
  wire: string;
  value?: number;
  interval?: { low: number; high: number };
  limit: string;
  verdict: Verdict;
  detail: string;
};

/**
 * A ratio x/y of paired rounds against a limit. The verdict comes from the interval: wholly on the
 * passing side PASS, wholly on the failing side FAIL, otherwise this run cannot decide.
 */
function ratioCheck(
  name: string,
  wire: string,
  x: ScenarioSummary | undefined,
  y: ScenarioSummary | undefined,
  pick: (r: Round) => number,
  op: '>=' | '<=',
  limit: number,
  detail = '',
): Check {
  const limitText = `${op} ${limit.toFixed(2)}`;
  if (!x || !y || x.rounds.length === 0 || y.rounds.length === 0)
    return { name, wire, limit: limitText, verdict: 'SKIP', detail: 'not measured' };
  const value = pairedRatio(x.rounds, y.rounds, pick);
  const interval = pairedRatioInterval(x.rounds, y.rounds, pick);
  const passes = (v: number) => (op === '>=' ? v >= limit : v <= limit);
  const verdict: Verdict =
    passes(interval.low) && passes(interval.high)
      ? 'PASS'
      : !passes(interval.low) && !passes(interval.high)
        ? 'FAIL'
        : 'CANNOT DECIDE';
  return { name, wire, value, interval, limit: limitText, verdict, detail };
}

const rps = (r: Round) => r.rps;
const p50 = (r: Round) => r.p50;
const p99 = (r: Round) => r.p99;

function checksFor(inproc: InProcessResult | undefined, http: HttpResult | undefined): Check[] {
  const checks: Check[] = [];
  for (const wire of WIRES) {
    const inp = (id: string, variant = 'stdout') =>
      inproc?.scenarios.find(
        (s) => s.wire === wire && s.id === id && (id === 'a' || s.variant === variant || s.variant === 'peer'),
      );
    const a = inp('a');
    const c = inp('c');
    checks.push(
      ratioCheck('in process: (c) throughput >= 0.85 x (a), default stdout sink', wire, c, a, rps, '>=', 0.85),
      ratioCheck('in process: (d) tools/list throughput >= 0.85 x (a)', wire, inp('d'), a, rps, '>=', 0.85),
      ratioCheck('in process: (c) throughput >= 2 x (p1)', wire, c, inp('p1'), rps, '>=', 2),
      ratioCheck('in process: (c) throughput >= 3 x (p2)', wire, c, inp('p2'), rps, '>=', 3),
      ratioCheck('in process: p50 of (c) <= 1/3 x p50 of (p2)', wire, c, inp('p2'), p50, '<=', 1 / 3),
    );
    const over = (id: string) => http?.scenarios.find((s) => s.wire === wire && s.id === id && s.variant === 'edge');
    const hc = over('c');
    const pad = over('b-pad');
    checks.push(
      ratioCheck('over HTTP (edge): (c) throughput >= 1.0 x (p1)', wire, hc, over('p1'), rps, '>=', 1),
      ratioCheck('over HTTP (edge): (c) throughput >= 1.5 x (p2)', wire, hc, over('p2'), rps, '>=', 1.5),
      ratioCheck(
        "over HTTP (edge): p99 of (c) <= 1.2 x p99 of the public call with a header of the token's size",
        wire,
        hc,
        pad,
        p99,
        '<=',
        1.2,
        hc && pad
          ? `median p99 (c) ${fixed(hc.p99, 1)} ms vs (b-pad) ${fixed(pad.p99, 1)} ms; pooled ${fixed(hc.pooledP99, 1)} vs ${fixed(pad.pooledP99, 1)} ms`
          : '',
      ),
    );
  }
  return checks;
}

/** next start variants side by side: req/s and p50 per scenario and wire, and paired ratios to edge. */
function runtimeTable(http: HttpResult): string {
  const variants = [...new Set(http.scenarios.map((s) => s.variant))].filter((v) => v !== 'node:http');
  const lines = [
    '### next start: /mcp on Edge vs Node, and with every request through the middleware',
    '',
    `| scenario | wire | ${variants.map((v) => `${v} req/s | ${v} p50 ms`).join(' | ')} | ${variants
      .filter((v) => v !== 'edge')
      .map((v) => `${v} ÷ edge (req/s, 95% interval)`)
      .join(' | ')} |`,
    `|:--|:--|${variants.map(() => '--:|--:').join('|')}|${variants
      .filter((v) => v !== 'edge')
      .map(() => '--:')
      .join('|')}|`,
  ];
  for (const wire of WIRES)
    for (const id of ['b', 'c', 'd'] as const) {
      const cells = variants.map((v) => http.scenarios.find((s) => s.wire === wire && s.id === id && s.variant === v));
      const edge = cells[variants.indexOf('edge')];
      if (!edge) continue;
      const ratios = variants
        .map((v, i) => [v, cells[i]] as const)
        .filter(([v]) => v !== 'edge')
        .map(([, s]) => {
          if (!s) return '-';
          const iv = pairedRatioInterval(s.rounds, edge.rounds, rps);
          return `${fixed(pairedRatio(s.rounds, edge.rounds, rps))} (${fixed(iv.low)}-${fixed(iv.high)})`;
        });
      lines.push(
        `| (${id}) ${edge.label} | ${wire} | ${cells.map((s) => `${fixed(s?.rps, 0)} | ${fixed(s?.p50, 2)}`).join(' | ')} | ${ratios.join(' | ')} |`,
      );
    }
  return lines.join('\n');
}

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
  let variants: Record<string, string> | undefined;

  if (!flags.skipHttp) {
    try {
      variants = await ensureVariants(outDir, VARIANTS);
    } catch (error) {
      failures++;
      log(`[variants] ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (!flags.skipInproc) {
    try {
      inproc = await runInProcessChild(flags, outDir);
    } catch (error) {
      failures++;
      log(`[inproc] ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (variants) {
    const fixtures = await startFixtures();
    try {
      http = await runHttp(flags, fixtures, variants);
    } catch (error) {
      failures++;
      log(`[http] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    } finally {
      await fixtures.close();
    }
  }
  // The shipped build when there is one, else the bench's copy of it (same sources).
  const bundleDir = existsSync('.next/BUILD_ID') ? '.next' : variants?.edge ? join(variants.edge, '.next') : '.next';
  try {
    bundle = edgeBundleReport(bundleDir);
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
    'Values are medians over interleaved rounds; ratios are medians of per-round ratios to the (a) round of the same wire run in the same pass.',
    '',
  );
  if (inproc) {
    out.push(
      `In process: handlers called with Request objects, ${inproc.concurrency} concurrent closed-loop callers, ${inproc.rounds} rounds of ${inproc.roundMs} ms per scenario; ` +
        `audit to the default stdout sink (stdout = /dev/null) unless the variant says noop; ` +
        `identity API requests during measurement: ${inproc.identityApiRequestsDuringMeasurement}, JWKS fetches: ${inproc.jwksFetches}.`,
      '',
    );
    for (const wire of WIRES)
      out.push(
        table(
          `In process, ${wire}`,
          inproc.scenarios.filter((s) => s.wire === wire),
        ),
        '',
      );
  }
  if (http) {
    out.push(
      `Over HTTP: autocannon, ${http.connections} connections, ${http.rounds} rounds of ${http.roundSeconds} s per target, loopback. ` +
        `(a) runs behind a node:http adapter in its own process, NOT under next start. next start variants: ${http.nextStart
          .map((n) => `${n.variant} = ${n.note}`)
          .join('; ')}. The peers (p1, p2) are routes of the same builds that the middleware does not see. ` +
        `Audit lines go to stdout = /dev/null. Identity API requests during measurement: ${http.identityApiRequestsDuringMeasurement}.`,
      '',
    );
    for (const wire of WIRES)
      out.push(
        table(
          `Over HTTP, ${wire}`,
          http.scenarios.filter((s) => s.wire === wire),
        ),
        '',
      );
    out.push(runtimeTable(http), '');
  }
  if (bundle) {
    out.push(
      `Edge bundle (${bundleDir}): /mcp ${kb(bundle.mcp.gzipBytes)} gzipped (${kb(bundle.mcp.bytes)} raw, ${bundle.mcp.files.length} files, gzip level ${bundle.gzipLevel} per file)` +
        (bundle.middleware ? `; middleware ${kb(bundle.middleware.gzipBytes)} gzipped` : ''),
      '',
    );
  }

  const checks = checksFor(inproc, http);
  for (const check of checks) {
    const interval = check.interval
      ? `; 95% bootstrap interval over rounds ${fixed(check.interval.low)}-${fixed(check.interval.high)}`
      : '';
    const undecided = check.verdict === 'CANNOT DECIDE' ? '; the interval straddles the limit: repeat longer' : '';
    out.push(
      `${check.verdict}: [${check.wire}] ${check.name}: ${fixed(check.value)} (${check.limit}${interval}${check.detail ? `; ${check.detail}` : ''}${undecided})`,
    );
  }

  const errors = [...(inproc?.scenarios ?? []), ...(http?.scenarios ?? [])].reduce((s, r) => s + r.errors, 0);
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
    `${JSON.stringify({ startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), machine: { ...m, loadavgBefore: before.loadavg }, flags, variants: VARIANT_NOTES, inProcess: inproc, http, bundle, checks, errors, failures }, null, 2)}\n`,
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
