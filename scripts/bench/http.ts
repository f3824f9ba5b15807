import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { freePort } from './loopback';
import {
  EXPECT,
  log,
  mcpRequest,
  paddingHeader,
  percentile,
  seeded,
  shuffled,
  warmupOrder,
  SCENARIO_CALL,
  SCENARIO_LABELS,
  sleep,
  summarize,
  WIRES,
  withRatios,
  type Flags,
  type Round,
  type ScenarioId,
  type ScenarioSummary,
  type Wire,
} from './common';
import type { Fixtures } from './fixtures';
import { VARIANT_NOTES, type VariantName } from './variants';

/**
 * Over HTTP: the scenarios against `next start` of each bench build (variants.ts: /mcp on Edge as
 * shipped, on Node, and without the middleware; the peers p1/p2 as routes of the same builds) on
 * 127.0.0.1, and (a) against the bare mcp-handler behind a node:http adapter in its own process
 * (bare-server.ts; not under next start), on both wires. Load from autocannon in this process, in
 * interleaved rounds; latencies are taken from autocannon's per-response event (sub-ms precision)
 * for 2xx answers. next start writes its audit lines to stdout, which goes to /dev/null.
 */

export type HttpResult = {
  connections: number;
  roundSeconds: number;
  rounds: number;
  nextStart: Array<{ variant: VariantName; note: string; url: string; buildId: string | undefined }>;
  bareServer: { url: string; note: string };
  /** How long the WorkOS stand-in held each directory API answer. */
  workosDelayMs: number;
  identityApiRequestsDuringMeasurement: number;
  /** edge-traced only: what its loopback collector received (OTLP export requests, bytes). */
  traceExports?: { requests: number; bytes: number };
  jwksFetches: number;
  scenarios: ScenarioSummary[];
};

type Target = {
  id: ScenarioId;
  wire: Wire;
  /** 'node:http' for (a), else the next start variant. */
  server: string;
  url: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  rounds: Round[];
  /** Every 2xx latency of the measured rounds. */
  latencies: number[];
};

const require = createRequire(import.meta.url);
/** Variables that would change what is measured if the caller's shell happens to set them. */
const SCRUBBED = [
  'AUDIT_SINK_URL',
  'AUDIT_SINK_SECRET',
  'ALLOWED_CLIENT_IDS',
  'ALLOWED_ORIGINS',
  'MCP_AUTH_REQUIRED',
  'AUTH_EXTRA_AUDIENCES',
  'AUTH_JWKS_URL',
  'AUTH_ALGORITHMS',
  'WORKOS_CLIENT_ID',
  'VERCEL_ENV',
  'VERCEL_URL',
  // Traces are on only where the bench says so (edge-traced): never because the shell has an endpoint.
  'VERCEL',
  'OTEL_SDK_DISABLED',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_TRACES_SAMPLER',
  'MCP_TRACE_SUBJECT_KEY',
];

export type Running = { url: string; child: ChildProcess; tail(): string; stop(): Promise<void> };

/** Servers this module started and has not stopped yet (run.ts stops them on SIGINT/SIGTERM). */
const alive = new Set<Running>();
export async function stopAllServers(): Promise<void> {
  await Promise.all([...alive].map((r) => r.stop()));
}
function track(running: Running): Running {
  alive.add(running);
  const stop = running.stop;
  running.stop = async () => {
    await stop();
    alive.delete(running);
  };
  return running;
}

async function stopChild(child: ChildProcess, group: boolean): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (group) process.kill(-child.pid!, signal);
      else child.kill(signal);
    } catch {
      // already gone
    }
  };
  kill('SIGTERM');
  // Up to 30 s: with --profile, next start writes its CPU profile on the way out (5 s cut some short).
  await Promise.race([exited, sleep(30_000)]);
  if (child.exitCode === null && child.signalCode === null) {
    kill('SIGKILL');
    await Promise.race([exited, sleep(2_000)]);
  }
}

async function waitReady(url: string, child: ChildProcess, tail: () => string, what: string): Promise<void> {
  const deadline = Date.now() + 45_000;
  for (let attempt = 0; attempt < 400 && Date.now() < deadline; attempt++) {
    if (child.exitCode !== null) throw new Error(`${what} exited early (${child.exitCode}):\n${tail()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${what} did not become ready within 45 s:\n${tail()}`);
}

function keepTail(child: ChildProcess): () => string {
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-8_000);
  });
  return () => tail;
}

async function startNext(
  dir: string,
  port: number,
  env: Record<string, string>,
  profileDir?: string,
): Promise<Running> {
  if (!existsSync(join(dir, '.next/BUILD_ID'))) throw new Error(`no production build in ${dir}/.next`);
  const url = `http://127.0.0.1:${port}`;
  const nextBin = require.resolve('next/dist/bin/next');
  const devNull = openSync('/dev/null', 'w');
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k, v]) => v !== undefined && !SCRUBBED.includes(k)),
  ) as Record<string, string>;
  const child = spawn(process.execPath, [nextBin, 'start', '-H', '127.0.0.1', '-p', String(port)], {
    cwd: dir,
    env: {
      ...base,
      NEXT_TELEMETRY_DISABLED: '1',
      ...env,
      NODE_ENV: 'production',
      MCP_RESOURCE_URL: `${url}/mcp`,
      PORT: String(port),
      // --profile: every Node process of next start writes a V8 CPU profile when it exits (SIGTERM).
      ...(profileDir
        ? { NODE_OPTIONS: `${base.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profileDir}`.trim() }
        : {}),
    },
    // stdout (the audit trail's JSON lines, Next's banner) goes to /dev/null: written for real, then dropped.
    stdio: ['ignore', devNull, 'pipe'],
    detached: true,
  });
  closeSync(devNull);
  const tail = keepTail(child);
  const running = track({ url, child, tail, stop: () => stopChild(child, true) });
  try {
    await waitReady(`${url}/.well-known/oauth-protected-resource`, child, tail, 'next start');
  } catch (error) {
    await running.stop();
    throw error;
  }
  return running;
}

/**
 * Runs a scripts/bench server script (bare-server.ts) in its own Node process
 * with this process's loader flags (tsx). The script prints "listening <port>" on stderr; its
 * stdout (audit lines, if any) goes to /dev/null; it exits when its stdin closes.
 */
export async function startScriptServer(script: string, env: Record<string, string> = {}): Promise<Running> {
  const devNull = openSync('/dev/null', 'w');
  const child = spawn(process.execPath, [...process.execArgv, new URL(script, import.meta.url).pathname], {
    stdio: ['pipe', devNull, 'pipe'],
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'PORT' && !SCRUBBED.includes(k))),
      ...env,
      NODE_ENV: 'production',
    },
  });
  closeSync(devNull);
  const tail = keepTail(child);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${tail()}`)), 30_000);
    child.stderr?.on('data', () => {
      const match = /listening (\d+)/.exec(tail());
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}):\n${tail()}`));
    });
  }).catch(async (error: unknown) => {
    await stopChild(child, false);
    throw error;
  });
  const url = `http://127.0.0.1:${port}`;
  return track({
    url,
    child,
    tail,
    stop: async () => {
      child.stdin?.end();
      await stopChild(child, false);
    },
  });
}

const startBare = () => startScriptServer('./bare-server.ts');

/** One autocannon run; 2xx latencies from the per-response event (autocannon's histogram rounds to ms). */
export function cannon(
  target: Pick<Target, 'url' | 'path' | 'headers' | 'body'>,
  connections: number,
  seconds: number,
  keep?: number[],
): Promise<Round & { autocannonP99: number }> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    const instance = autocannon(
      {
        url: `${target.url}${target.path}`,
        method: 'POST',
        headers: target.headers,
        body: target.body,
        connections,
        duration: seconds,
        timeout: 10,
      },
      (error, result) => {
        if (error) return reject(error);
        const errors = result.errors + result.timeouts + result.non2xx;
        if (keep) for (const latency of latencies) keep.push(latency);
        resolve({
          requests: result.requests.total,
          errors,
          seconds: result.duration,
          rps: result.requests.total / result.duration,
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          autocannonP99: result.latency.p99,
        });
      },
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
      if (status >= 200 && status < 300) latencies.push(responseTime);
    });
  });
}

async function check(target: Target): Promise<void> {
  const response = await fetch(`${target.url}${target.path}`, {
    method: 'POST',
    headers: target.headers,
    body: target.body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (response.status !== 200 || !EXPECT[target.id](text)) {
    throw new Error(
      `(${target.id}) ${target.server} ${target.wire} over HTTP answered ${response.status}: ${text.slice(0, 400)}`,
    );
  }
}

/** Which scenarios run on which next start variant: all on the shipped one, the main three elsewhere. */
const ON_VARIANT: Record<VariantName, readonly ScenarioId[]> = {
  edge: ['b', 'b-pad', 'c', 'd', 'e', 'p1', 'p2'],
  nodejs: ['b', 'c', 'd'],
  'edge-all-through-middleware': ['b', 'c', 'd'],
  'edge-traced': ['c'],
  // What revocation and rate limits cost a private call: (c) here against (c) on edge.
  'edge-governed': ['c'],
};

/** What edge-traced adds to its environment: traces exported to the loopback collector, with the subject hashed. */
function tracedEnv(name: VariantName, collector: Running | undefined): Record<string, string> {
  if (name !== 'edge-traced' || !collector) return {};
  return {
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/v1/traces`,
    MCP_TRACE_SUBJECT_KEY: 'bench-only trace subject key, never used elsewhere',
  };
}

/** The shared store of the edge-governed build, in its own process (redis-server.ts). */
async function startStore(): Promise<{ running: Running; env: Record<string, string> }> {
  const running = await startScriptServer('./redis-server.ts');
  const match = /listening (\d+) (\S+)/.exec(running.tail());
  if (!match) {
    await running.stop();
    throw new Error(`the bench's redis front did not say where it listens:\n${running.tail()}`);
  }
  return {
    running,
    env: { UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${match[1]}`, UPSTASH_REDIS_REST_TOKEN: match[2] ?? '' },
  };
}

export async function runHttp(flags: Flags, fixtures: Fixtures, variants: Record<string, string>): Promise<HttpResult> {
  const names = Object.keys(variants) as VariantName[];
  const ports = await Promise.all(names.map(() => freePort()));
  const store = names.includes('edge-governed') ? await startStore() : undefined;
  log(`[http] starting next start (${names.join(', ')}) and the bare node:http server`);
  // The OTLP collector edge-traced exports to: a loopback server that takes every export (otlp-sink.ts).
  const collector = names.includes('edge-traced') ? await startScriptServer('./otlp-sink.ts') : undefined;
  const started = await Promise.allSettled([
    startBare(),
    ...names.map((name, i) =>
      startNext(
        variants[name]!,
        ports[i]!,
        {
          ...fixtures.env(`http://127.0.0.1:${ports[i]}/mcp`),
          ...tracedEnv(name, collector),
          ...(name === 'edge-governed' ? store?.env : {}),
        },
        flags.profile ? join(resolve(flags.outDir), 'profiles', `next-start-${name}`) : undefined,
      ),
    ),
  ]);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    for (const s of started) if (s.status === 'fulfilled') await s.value.stop();
    await collector?.stop();
    await store?.running.stop();
    throw failed.reason;
  }
  const [bare, ...nexts] = started.map((s) => (s as PromiseFulfilledResult<Running>).value) as [Running, ...Running[]];
  try {
    const all: Target[] = [];
    const target = (id: ScenarioId, wire: Wire, server: string, url: string, extra: Record<string, string>) => {
      const { headers, body } = mcpRequest(wire, SCENARIO_CALL[id]);
      const path = id === 'p1' || id === 'p2' ? `/bench/${id}/mcp` : '/mcp';
      all.push({ id, wire, server, url, path, headers: { ...headers, ...extra }, body, rounds: [], latencies: [] });
    };
    for (const wire of WIRES) target('a', wire, 'node:http', bare.url, {});
    for (const [i, name] of names.entries()) {
      const running = nexts[i]!;
      // Tokens are per server: the audience is that server's /mcp.
      const token = await fixtures.token(`${running.url}/mcp`);
      const auth = { authorization: `Bearer ${token}` };
      for (const wire of WIRES)
        for (const id of ON_VARIANT[name]) {
          const anonymous = id === 'b' || id === 'b-pad';
          target(id, wire, name, running.url, id === 'b-pad' ? paddingHeader(token) : anonymous ? {} : auth);
        }
    }
    const targets = all.filter((t) => !flags.only || flags.only.includes(t.id));
    for (const t of targets) await check(t); // also fills the JWKS and identity caches

    // Under next start a server's throughput climbs for its first minute or so of load (measured: (c)
    // on the Edge build from about 460 to 660 req/s), so that load is given and discarded first.
    const warmup = warmupOrder(targets, flags.httpWarmupSeconds);
    log(`[http] warm-up: ${flags.httpWarmupSeconds} s of load per server (${warmup.length} x 1 s), discarded`);
    for (const t of warmup) await cannon(t, flags.connections, 1);
    const identityBefore = fixtures.workos.api.requestCount();

    const rounds = Math.max(3, Math.floor(flags.httpSeconds / (targets.length * flags.httpRoundSeconds)));
    log(
      `[http] ${rounds} rounds x ${targets.length} targets x ${flags.httpRoundSeconds} s, ${flags.connections} connections`,
    );
    const deadline =
      Date.now() + Math.max(flags.httpSeconds, rounds * targets.length * flags.httpRoundSeconds) * 1500 + 30_000;
    // Each round in its own order (seeded, reproducible): what a target runs after (the work a heavy
    // server leaves, an exporter's backlog) must not always fall on the same target.
    const order = seeded(20261207);
    for (let r = 0; r < rounds && Date.now() < deadline; r++) {
      for (const t of shuffled(targets, order)) {
        const round = await cannon(t, flags.connections, flags.httpRoundSeconds, t.latencies);
        if (round.errors > 0) log(`[http] (${t.id}) ${t.server} ${t.wire}: ${round.errors} errors/non-2xx in a round`);
        t.rounds.push(round);
      }
      log(`[http] round ${r + 1}/${rounds}`);
    }
    for (const t of targets) await check(t);
    const identityApiRequestsDuringMeasurement = fixtures.workos.api.requestCount() - identityBefore;
    const traceExports = collector && (await exportsReceived(collector));
    if (collector && targets.some((t) => t.server === 'edge-traced') && !traceExports?.requests)
      throw new Error('edge-traced: the loopback collector received no trace export; traces were not on');

    const summaries = targets.map((t) => ({
      ...summarize(t.id, t.wire, t.server, SCENARIO_LABELS[t.id], t.rounds),
      pooledP50: percentile(t.latencies, 50),
      pooledP99: percentile(t.latencies, 99),
    }));
    const scenarios: ScenarioSummary[] = [];
    for (const wire of WIRES) {
      const onWire = summaries.filter((s) => s.wire === wire);
      scenarios.push(
        ...withRatios(
          onWire,
          onWire.find((s) => s.id === 'a'),
        ),
      );
    }
    return {
      connections: flags.connections,
      roundSeconds: flags.httpRoundSeconds,
      rounds,
      nextStart: names.map((variant, i) => ({
        variant,
        note: VARIANT_NOTES[variant],
        url: nexts[i]!.url,
        buildId: buildId(variants[variant]!),
      })),
      bareServer: {
        url: bare.url,
        note: '(a) is served by a node:http adapter (scripts/bench/bare-server.ts), not by next start',
      },
      workosDelayMs: fixtures.workos.delayMs,
      identityApiRequestsDuringMeasurement,
      ...(traceExports && { traceExports }),
      jwksFetches: fixtures.issuer.jwksFetches(),
      scenarios,
    };
  } finally {
    await Promise.all([bare.stop(), ...nexts.map((n) => n.stop()), collector?.stop(), store?.running.stop()]);
  }
}

/** What the edge-traced variant's collector got: OTLP export requests and their bytes. */
async function exportsReceived(collector: Running): Promise<{ requests: number; bytes: number }> {
  // Spans leave in batches (every 5 s by default): give the last batch time to arrive.
  await sleep(6_000);
  const response = await fetch(`${collector.url}/stats`, { signal: AbortSignal.timeout(5_000) });
  return (await response.json()) as { requests: number; bytes: number };
}

function buildId(dir: string): string | undefined {
  try {
    return readFileSync(join(dir, '.next/BUILD_ID'), 'utf8').trim();
  } catch {
    return undefined;
  }
}
