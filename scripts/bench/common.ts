import { cpus, freemem, loadavg, totalmem } from 'node:os';

/**
 * Shared pieces of `npm run bench`: flags, statistics, the MCP request shape and table output.
 * Everything here is pure; servers and handlers live in fixtures.ts.
 */

/** Both protocol revisions every scenario runs on. */
export const WIRES = ['2025-11-25', '2026-07-28'] as const;
export type Wire = (typeof WIRES)[number];

/** The streamable-HTTP POST headers of 2025-11-25 (stateless JSON-RPC, SSE or JSON answer). */
export const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
} as const;

export type Call = 'ping' | 'whoami' | 'list' | 'orgMembers';
const CALLS: Record<Call, { method: string; params: Record<string, unknown> }> = {
  ping: { method: 'tools/call', params: { name: 'ping', arguments: { message: 'bench' } } },
  whoami: { method: 'tools/call', params: { name: 'whoami', arguments: {} } },
  list: { method: 'tools/list', params: {} },
  orgMembers: { method: 'tools/call', params: { name: 'org_members', arguments: {} } },
};

/** The `_meta` a 2026-07-28 request carries on every call (revision, capabilities, client info). */
const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1.0.0' },
};

/**
 * One scenario request on one wire: on 2026-07-28 the per-request `_meta` in the body and the
 * mirrored `Mcp-Method` / `Mcp-Name` headers.
 */
export function mcpRequest(wire: Wire, call: Call): { headers: Record<string, string>; body: string } {
  const { method, params } = CALLS[call];
  if (wire === '2025-11-25')
    return { headers: { ...MCP_HEADERS }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) };
  const name: Record<string, string> = typeof params.name === 'string' ? { 'mcp-name': params.name } : {};
  return {
    headers: { ...MCP_HEADERS, 'mcp-protocol-version': wire, 'mcp-method': method, ...name },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: MODERN_META } }),
  };
}

/** The 2025-11-25 bodies, for ablation.ts and steps.ts. */
export const BODIES: Record<Call, string> = {
  ping: mcpRequest('2025-11-25', 'ping').body,
  whoami: mcpRequest('2025-11-25', 'whoami').body,
  list: mcpRequest('2025-11-25', 'list').body,
  orgMembers: mcpRequest('2025-11-25', 'orgMembers').body,
};

export type ScenarioId = 'a' | 'b' | 'b-pad' | 'c' | 'c-cold' | 'd' | 'e' | 'p1' | 'p2';

export const SCENARIO_LABELS: Record<ScenarioId, string> = {
  a: 'bare mcp-handler, ping, no auth',
  b: 'public tool (ping), anonymous',
  'b-pad': "public tool (ping), anonymous, with a header of the token's size",
  c: 'private tool (whoami), valid token (cached)',
  'c-cold': 'private tool (whoami), fresh token each request',
  d: 'tools/list, valid token',
  e: 'role tool (org_members), warm identity cache',
  p1: 'peer: withMcpAuth + jwtVerify every request (whoami)',
  p2: 'peer: p1 + WorkOS getUser every request (whoami)',
};

/** What each scenario sends. */
export const SCENARIO_CALL: Record<ScenarioId, Call> = {
  a: 'ping',
  b: 'ping',
  'b-pad': 'ping',
  c: 'whoami',
  'c-cold': 'whoami',
  d: 'list',
  e: 'orgMembers',
  p1: 'whoami',
  p2: 'whoami',
};

const pong = (b: string) => b.includes('"pong":true') && !b.includes('"isError":true');
const alice = (b: string) => b.includes('"subject":"user_alice"') && !b.includes('"isError":true');
/** Checks that a response body is the successful answer of its scenario (SSE or JSON framing). */
export const EXPECT: Record<ScenarioId, (body: string) => boolean> = {
  a: pong,
  b: pong,
  'b-pad': pong,
  c: alice,
  'c-cold': alice,
  d: (b) => b.includes('"name":"org_members"') && b.includes('"name":"whoami"'),
  e: (b) => b.includes('"members":[') && !b.includes('"isError":true'),
  p1: alice,
  p2: alice,
};

/** A dummy header exactly as long as `authorization: Bearer <token>`, which nothing verifies. */
export function paddingHeader(token: string): Record<string, string> {
  const size = 'authorization'.length + `Bearer ${token}`.length;
  const name = 'x-bench-pad';
  return { [name]: 'x'.repeat(size - name.length) };
}

// ---------------------------------------------------------------------------------------------
// Flags: --name value or --name=value, with BENCH_NAME environment fallbacks.

export type Flags = {
  inprocSeconds: number;
  inprocRoundMs: number;
  concurrency: number;
  coldTokens: number;
  httpSeconds: number;
  httpRoundSeconds: number;
  /** Seconds of load every HTTP server gets before measuring, discarded: under next start throughput climbs for minutes. */
  httpWarmupSeconds: number;
  connections: number;
  /**
   * Milliseconds the WorkOS stand-in holds every directory API answer: on loopback a `getUser` costs
   * (p2) almost nothing, where the real one is an internet round trip. 0 = plain loopback.
   */
  workosDelayMs: number;
  skipInproc: boolean;
  skipHttp: boolean;
  profile: boolean;
  /** Only these scenario ids (both sinks in process); default all. (a) always runs: it is the reference. */
  only?: ScenarioId[];
  outDir: string;
};

/** What `npm run bench -- --help` prints. */
export const USAGE = `npm run bench [-- flags]   (each flag also as a BENCH_<NAME> environment variable)

  --quick                  a smoke run: in process 20 s, HTTP 40 s, 1500 cold tokens, 150 ms rounds
  --inproc-seconds 90      in-process measuring time (--quick: 20)
  --inproc-round-ms 250    one in-process round per scenario slot (--quick: 150)
  --concurrency 8          in-process closed-loop callers
  --cold-tokens 6000       fresh tokens signed for (c-cold) (--quick: 1500)
  --http-seconds 240       HTTP measuring time, at least 3 rounds of every target (--quick: 40)
  --http-round-seconds 1   one HTTP round per target
  --http-warmup-seconds 60 seconds of load each server gets before measuring, discarded (--quick: 2)
  --connections 16         autocannon connections
  --workos-delay-ms 50     every WorkOS directory API answer held this long (a round trip); 0 = loopback
  --only c,d               only these scenarios ((a) always runs)
  --skip-inproc, --skip-http, --profile, --out-dir bench-results, --help`;

export function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Flags {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    if (eq > 0) given.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) given.set(arg.slice(2), argv[++i]!);
    else given.set(arg.slice(2), 'true');
  }
  const known = new Set([
    'inproc-seconds',
    'inproc-round-ms',
    'concurrency',
    'cold-tokens',
    'http-seconds',
    'http-round-seconds',
    'http-warmup-seconds',
    'connections',
    'workos-delay-ms',
    'skip-inproc',
    'skip-http',
    'profile',
    'only',
    'out-dir',
    'quick',
  ]);
  for (const name of given.keys())
    if (!known.has(name))
      throw new Error(`unknown flag --${name} (known: ${[...known].map((k) => `--${k}`).join(' ')})`);
  const quick = given.has('quick') || env.BENCH_QUICK === '1';
  const num = (name: string, fallback: number, min: number, max: number): number => {
    const raw = given.get(name) ?? env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const bool = (name: string): boolean => {
    const raw = given.get(name) ?? env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`];
    return raw !== undefined && /^(1|true|yes)$/i.test(raw);
  };
  const onlyRaw = given.get('only') ?? env.BENCH_ONLY;
  const ids = Object.keys(SCENARIO_LABELS) as ScenarioId[];
  const only = onlyRaw ? onlyRaw.split(',').map((s) => s.trim()) : undefined;
  for (const id of only ?? [])
    if (!ids.includes(id as ScenarioId))
      throw new Error(`--only: unknown scenario ${JSON.stringify(id)} (known: ${ids.join(',')})`);
  return {
    inprocSeconds: num('inproc-seconds', quick ? 20 : 90, 1, 3600),
    inprocRoundMs: num('inproc-round-ms', quick ? 150 : 250, 50, 60_000),
    concurrency: Math.round(num('concurrency', 8, 1, 256)),
    coldTokens: Math.round(num('cold-tokens', quick ? 1500 : 6000, 10, 200_000)),
    httpSeconds: num('http-seconds', quick ? 40 : 240, 1, 3600),
    httpRoundSeconds: num('http-round-seconds', 1, 1, 600),
    httpWarmupSeconds: Math.round(num('http-warmup-seconds', quick ? 2 : 60, 1, 3600)),
    connections: Math.round(num('connections', 16, 1, 1024)),
    workosDelayMs: num('workos-delay-ms', 50, 0, 10_000),
    skipInproc: bool('skip-inproc'),
    skipHttp: bool('skip-http'),
    profile: bool('profile'),
    ...(only ? { only: [...new Set(['a', ...only])] as ScenarioId[] } : {}),
    outDir: given.get('out-dir') ?? env.BENCH_OUT_DIR ?? 'bench-results',
  };
}

// ---------------------------------------------------------------------------------------------
// Statistics

/** Nearest-rank percentile of an unsorted sample (sorts a copy). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return Number.NaN;
  const sorted = [...finite].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One measured round of one scenario. Latencies in milliseconds. */
export type Round = { requests: number; errors: number; seconds: number; rps: number; p50: number; p99: number };

export type ScenarioSummary = {
  id: ScenarioId;
  wire: Wire;
  /** e.g. "noop" or "stdout" for the audit sink, or "next start" / "node:http" over HTTP. */
  variant: string;
  label: string;
  rounds: Round[];
  requests: number;
  errors: number;
  /** Medians over rounds. */
  rps: number;
  p50: number;
  p99: number;
  /** Over HTTP: percentiles of every 2xx latency of every measured round pooled together. */
  pooledP50?: number;
  pooledP99?: number;
  /** Median over rounds of (this round / the paired (a) round): throughput, p50, p99. */
  rpsRatioToA?: number;
  p50RatioToA?: number;
  p99RatioToA?: number;
};

export function summarize(
  id: ScenarioId,
  wire: Wire,
  variant: string,
  label: string,
  rounds: Round[],
): ScenarioSummary {
  return {
    id,
    wire,
    variant,
    label,
    rounds,
    requests: rounds.reduce((s, r) => s + r.requests, 0),
    errors: rounds.reduce((s, r) => s + r.errors, 0),
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
  };
}

/** Median of per-round ratios x_i / y_i: rounds i of both ran back to back, so drift cancels. */
export function pairedRatio(x: readonly Round[], y: readonly Round[], pick: (r: Round) => number): number {
  const n = Math.min(x.length, y.length);
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) ratios.push(pick(x[i]!) / pick(y[i]!));
  return median(ratios);
}

/** A small seeded PRNG (mulberry32): the interval below is reproducible from a run's JSON. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Percentile-bootstrap interval of `pairedRatio`: round pairs resampled with replacement. When it
 * straddles a limit, the run cannot tell pass from fail, whatever the point estimate says.
 */
export function pairedRatioInterval(
  x: readonly Round[],
  y: readonly Round[],
  pick: (r: Round) => number,
  options: { resamples?: number; level?: number; seed?: number } = {},
): { low: number; high: number } {
  const n = Math.min(x.length, y.length);
  const ratios = Array.from({ length: n }, (_, i) => pick(x[i]!) / pick(y[i]!)).filter(Number.isFinite);
  if (ratios.length === 0) return { low: Number.NaN, high: Number.NaN };
  const random = seeded(options.seed ?? 1);
  const resamples = options.resamples ?? 2000;
  const medians: number[] = [];
  for (let b = 0; b < resamples; b++)
    medians.push(median(Array.from({ length: ratios.length }, () => ratios[Math.floor(random() * ratios.length)]!)));
  medians.sort((p, q) => p - q);
  const tail = (1 - (options.level ?? 0.95)) / 2;
  return { low: medians[Math.floor(tail * (resamples - 1))]!, high: medians[Math.ceil((1 - tail) * (resamples - 1))]! };
}

export type Verdict = 'PASS' | 'FAIL' | 'CANNOT DECIDE';

/**
 * A check's verdict from the 95 % interval of its ratio, not from the point estimate: PASS or FAIL
 * only when the whole interval is on one side of the limit (the limit itself passes). An interval
 * that straddles it, or none at all (no finite ratio), cannot decide.
 */
export function verdict(interval: { low: number; high: number }, op: '>=' | '<=', limit: number): Verdict {
  if (Number.isNaN(interval.low) || Number.isNaN(interval.high)) return 'CANNOT DECIDE';
  const passes = (v: number) => (op === '>=' ? v >= limit : v <= limit);
  const low = passes(interval.low);
  const high = passes(interval.high);
  return low && high ? 'PASS' : !low && !high ? 'FAIL' : 'CANNOT DECIDE';
}

export function withRatios(summaries: ScenarioSummary[], a: ScenarioSummary | undefined): ScenarioSummary[] {
  if (!a) return summaries;
  return summaries.map((s) => ({
    ...s,
    rpsRatioToA: pairedRatio(s.rounds, a.rounds, (r) => r.rps),
    p50RatioToA: pairedRatio(s.rounds, a.rounds, (r) => r.p50),
    p99RatioToA: pairedRatio(s.rounds, a.rounds, (r) => r.p99),
  }));
}

// ---------------------------------------------------------------------------------------------
// Output

const fmt = (n: number | undefined, digits: number): string =>
  n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);

export function table(title: string, rows: ScenarioSummary[]): string {
  const pooled = rows.some((r) => r.pooledP99 !== undefined);
  const header = [
    'scenario',
    'variant, wire',
    'req/s',
    'p50 ms',
    'p99 ms',
    ...(pooled ? ['pooled p99 ms'] : []),
    'req/s ÷ (a)',
    'p99 ÷ (a)',
    'requests',
    'errors',
  ];
  const body = rows.map((r) => [
    `(${r.id}) ${r.label}`,
    `${r.variant}, ${r.wire}`,
    fmt(r.rps, 0),
    fmt(r.p50, 3),
    fmt(r.p99, 3),
    ...(pooled ? [fmt(r.pooledP99, 3)] : []),
    r.id === 'a' ? '1.00' : fmt(r.rpsRatioToA, 2),
    r.id === 'a' ? '1.00' : fmt(r.p99RatioToA, 2),
    String(r.requests),
    String(r.errors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 || i === 1 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [`### ${title}`, '', line(header), rule, ...body.map(line)].join('\n');
}

export function machine(): Record<string, unknown> {
  const cpuList = cpus();
  return {
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    loadavg: loadavg().map((n) => Math.round(n * 100) / 100),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

export const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The warm-up: one-second runs of the targets in turn until every server has had `seconds` of load.
 * Per server, not per target: a server with one target warms as long as one with seven (rounds of
 * every target gave the shipped build, serving seven scenarios, seven times a variant's warm-up).
 * Twelve such rounds were also too few: in a (c)-only run they gave each server 24 s, and the
 * shipped build kept getting faster through most of the measured rounds, so every ratio to it drifted.
 */
export function warmupOrder<T extends { server: string }>(targets: readonly T[], seconds: number): T[] {
  const given = new Map<string, number>();
  const order: T[] = [];
  for (let round = 0; round < seconds; round++)
    for (const target of targets) {
      const had = given.get(target.server) ?? 0;
      if (had >= seconds) continue;
      given.set(target.server, had + 1);
      order.push(target);
    }
  return order;
}

/** The items in an order drawn from `random` (Fisher-Yates), the input left as it is. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
