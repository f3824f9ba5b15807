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
  USAGE,
  verdict,
  WIRES,
  type Flags,
  type Round,
  type ScenarioId,
  type Verdict,
  type Wire,
} from './common';
import { startFixtures } from './fixtures';
import { runHttp, stopAllServers, type HttpResult } from './http';
import type { InProcessResult } from './inprocess';
import { PENDING_BUDGETS, targetsText, TARGETS, type Row, type Target } from './targets';
import { ensureVariants, VARIANT_NOTES, VARIANTS } from './variants';

/**
 * `npm run bench` (issue 17): every scenario in process and over HTTP on both wires, against the
 * peers users would otherwise deploy, under `next start` with /mcp on Edge, on Node and with every
 * request through the middleware (bench-only builds, variants.ts). Tables on stdout, the full result as JSON in
 * bench-results/bench-<timestamp>.json, and every check of targets.ts as PASS / FAIL / CANNOT DECIDE
 * from its 95 % interval over rounds, then (p2) against a WorkOS that answers a round trip late as a
 * figure. Exits non-zero only when something failed (errors, bad answers, a build), never on a ratio.
 *
 *   npm run bench                              # ~90 s in process + ~240 s over HTTP (+ builds when stale)
 *   npm run bench -- --quick                   # a smoke run (~20 s + ~40 s)
 *   npm run bench -- --skip-http --profile     # in process only, with a V8 CPU profile
 *
 * Flags (or BENCH_<NAME> environment variables): --inproc-seconds 90 --inproc-round-ms 250
 * --concurrency 8 --cold-tokens 6000 --http-seconds 240 --http-round-seconds 1 --connections 16
 * --workos-delay-ms 50 --only c,d --skip-inproc --skip-http --profile --out-dir bench-results --quick
 * (`npm run bench -- --help` lists them)
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

type Check = {
  key: string;
  name: string;
  wire: string;
  value?: number;
  interval?: { low: number; high: number };
  limit: string;
  verdict: Verdict | 'SKIP';
  detail: string;
};

/** The row of a target's scenario on a wire, in process or over HTTP. */
function rowOf(inproc: InProcessResult | undefined, http: HttpResult | undefined, target: Target, wire: Wire) {
  const scenarios = target.where === 'in process' ? inproc?.scenarios : http?.scenarios;
  return (row: Row) => scenarios?.find((s) => s.wire === wire && s.id === row.id && s.variant === row.variant);
}

/** One target on one wire: the ratio x/y of paired rounds, its interval, and the verdict the interval allows. */
function checkOf(inproc: InProcessResult | undefined, http: HttpResult | undefined, target: Target, wire: Wire): Check {
  const find = rowOf(inproc, http, target, wire);
  const x = find(target.x);
  const y = find(target.y);
  const name = `${target.where}: ${target.name}`;
  const limit = `${target.op} ${target.limit.toFixed(2)}`;
  if (!x || !y || x.rounds.length === 0 || y.rounds.length === 0)
    return { key: target.key, name, wire, limit, verdict: 'SKIP', detail: 'not measured' };
  const pick = (r: Round) => r[target.metric];
  const interval = pairedRatioInterval(x.rounds, y.rounds, pick);
  const detail =
    target.metric === 'p99'
      ? `median p99 (${x.id}) ${fixed(x.p99, 1)} ms vs (${y.id}) ${fixed(y.p99, 1)} ms; pooled ${fixed(x.pooledP99, 1)} vs ${fixed(y.pooledP99, 1)} ms`
      : '';
  return {
    key: target.key,
    name,
    wire,
    value: pairedRatio(x.rounds, y.rounds, pick),
    interval,
    limit,
    verdict: verdict(interval, target.op, target.limit),
    detail,
  };
}

function checksFor(inproc: InProcessResult | undefined, http: HttpResult | undefined): Check[] {
  return WIRES.flatMap((wire) => TARGETS.map((target) => checkOf(inproc, http, target, wire)));
}

type Figure = {
  where: 'in process' | 'over HTTP (edge)';
  wire: Wire;
  workosDelayMs: number;
  p2?: { rps: number; p50: number; p99: number };
  /** (c) ÷ (p2) over paired rounds, with its 95 % interval. */
  cOverP2Rps?: { value: number; interval: { low: number; high: number } };
  cOverP2P50?: { value: number; interval: { low: number; high: number } };
};

/** (p2) against a WorkOS that is a round trip away: reported, never judged (it is not our code). */
function p2Figures(inproc: InProcessResult | undefined, http: HttpResult | undefined): Figure[] {
  const sides = [
    { where: 'over HTTP (edge)', result: http, c: 'edge', p2: 'edge' },
    { where: 'in process', result: inproc, c: 'stdout', p2: 'peer' },
  ] as const;
  return sides.flatMap(({ where, result, c: cVariant, p2: p2Variant }) =>
    result
      ? WIRES.map((wire): Figure => {
          const row = (id: ScenarioId, variant: string) =>
            result.scenarios.find((s) => s.wire === wire && s.id === id && s.variant === variant);
          const c = row('c', cVariant);
          const p2 = row('p2', p2Variant);
          const figure: Figure = { where, wire, workosDelayMs: result.workosDelayMs };
          if (!p2 || p2.rounds.length === 0) return figure;
          figure.p2 = { rps: p2.rps, p50: p2.p50, p99: p2.p99 };
          if (!c || c.rounds.length === 0) return figure;
          const ratio = (pick: (r: Round) => number) => ({
            value: pairedRatio(c.rounds, p2.rounds, pick),
            interval: pairedRatioInterval(c.rounds, p2.rounds, pick),
          });
          figure.cOverP2Rps = ratio((r) => r.rps);
          figure.cOverP2P50 = ratio((r) => r.p50);
          return figure;
        })
      : [],
  );
}

function figureLine(f: Figure): string {
  const head = `FIGURE: [${f.wire}] ${f.where}: (p2) with every WorkOS directory API answer held ${f.workosDelayMs} ms`;
  if (!f.p2) return `${head}: not measured`;
  const ratio = (r: Figure['cOverP2Rps']) =>
    r ? `${fixed(r.value)} (95% interval ${fixed(r.interval.low)}-${fixed(r.interval.high)})` : 'n/a';
  return (
    `${head}: ${fixed(f.p2.rps, 0)} req/s, p50 ${fixed(f.p2.p50, 1)} ms, p99 ${fixed(f.p2.p99, 1)} ms; ` +
    `(c) ÷ (p2) throughput ${ratio(f.cOverP2Rps)}, p50 ${ratio(f.cOverP2P50)} (a figure, not a target)`
  );
}

const rps = (r: Round) => r.rps;

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
  if (process.argv.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
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
    const fixtures = await startFixtures({ workosDelayMs: flags.workosDelayMs });
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
        `the WorkOS stand-in holds every directory API answer ${inproc.workosDelayMs} ms; ` +
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
        `Audit lines go to stdout = /dev/null. The WorkOS stand-in holds every directory API answer ${http.workosDelayMs} ms ` +
        `((p2)'s getUser on every request, our server's lookups when its cache misses). ` +
        `Identity API requests during measurement: ${http.identityApiRequestsDuringMeasurement}.`,
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

  out.push(targetsText(flags.workosDelayMs), '');
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
  const figures = p2Figures(inproc, http);
  for (const figure of figures) out.push(figureLine(figure));

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
    `${JSON.stringify({ startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), machine: { ...m, loadavgBefore: before.loadavg }, flags, variants: VARIANT_NOTES, workosDelayMs: flags.workosDelayMs, inProcess: inproc, http, bundle, checks, figures, pendingBudgets: PENDING_BUDGETS, errors, failures }, null, 2)}\n`,
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
