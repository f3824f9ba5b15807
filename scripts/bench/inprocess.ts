import { writeFileSync } from 'node:fs';
import { stdoutAuditSink, type AuditSink } from '@/lib/audit/log';
import { createDirectoryLookup, MAX_TTL_MS } from '@/lib/directory/workos';
import { loadConfig } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { registry } from '@/tools';
import {
  EXPECT,
  log,
  mcpRequest,
  paddingHeader,
  percentile,
  SCENARIO_CALL,
  SCENARIO_LABELS,
  summarize,
  WIRES,
  withRatios,
  type Flags,
  type Round,
  type ScenarioId,
  type ScenarioSummary,
  type Wire,
} from './common';
import { bareHandler, startFixtures } from './fixtures';
import { peerHandler } from './peers';

/**
 * In-process scenarios: the handler functions are called directly with `Request` objects (no
 * sockets), by `concurrency` closed-loop workers, in short rounds taken round-robin over every
 * scenario so machine drift hits all of them alike. Each response body is read fully and checked.
 *
 * Run by run.ts as a child process whose stdout is /dev/null, so the "stdout" audit variant pays
 * for real console.log writes (to /dev/null) while the results travel through a JSON file.
 */

export type Handler = (request: Request) => Promise<Response>;
export type Slot = {
  id: ScenarioId;
  wire: Wire;
  variant: string;
  handler: Handler;
  sink?: AuditSink;
  request: () => Request | undefined;
  rounds: Round[];
  /** Response check; defaults to the scenario's EXPECT entry. */
  check?: (body: string) => boolean;
};

const URL_MCP = 'http://127.0.0.1:3000/mcp';
const RESOURCE = URL_MCP;

export const noopSink: AuditSink = () => {};

/** The endpoint's audit line: each round writes through its slot's sink (stdout unless it names another). */
let line: AuditSink = stdoutAuditSink;
const auditLine: AuditSink = (record) => line(record);

/** A scenario's POST on a wire, with a bearer token or extra headers. */
export const post = (id: ScenarioId, wire: Wire, token?: string, extra: Record<string, string> = {}): Request => {
  const { headers, body } = mcpRequest(wire, SCENARIO_CALL[id]);
  return new Request(URL_MCP, {
    method: 'POST',
    headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra },
    body,
  });
};

export async function runRound(slot: Slot, ms: number, concurrency: number): Promise<Round> {
  if (slot.sink) line = slot.sink;
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  let firstError: string | undefined;
  const check = slot.check ?? EXPECT[slot.id];
  const started = performance.now();
  const deadline = started + ms;
  const worker = async () => {
    while (performance.now() < deadline) {
      const request = slot.request();
      if (!request) break; // c-cold ran out of fresh tokens for this round
      sent++;
      const t0 = performance.now();
      const response = await slot.handler(request);
      const text = await response.text();
      latencies.push(performance.now() - t0);
      if (response.status !== 200 || !check(text)) {
        errors++;
        firstError ??= `${response.status} ${text.slice(0, 300)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  if (firstError) log(`[inproc] (${slot.id}/${slot.variant}) error: ${firstError}`);
  return {
    requests: sent,
    errors,
    seconds,
    rps: sent / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

export type InProcessResult = {
  concurrency: number;
  roundMs: number;
  rounds: number;
  coldTokensSigned: number;
  /** How long the WorkOS stand-in held each directory API answer. */
  workosDelayMs: number;
  identityApiRequestsDuringMeasurement: number;
  jwksFetches: number;
  scenarios: ScenarioSummary[];
};

export async function runInProcess(flags: Flags): Promise<InProcessResult> {
  const fixtures = await startFixtures({ workosDelayMs: flags.workosDelayMs });
  try {
    const config = loadConfig(fixtures.env(RESOURCE));
    const lookup = createDirectoryLookup(config.workos, { ttlMs: MAX_TTL_MS });
    if (!lookup) throw new Error('identity lookup not configured');
    const endpoint = createMcpEndpoint({ registry, config: () => config, directory: () => lookup, auditLine });
    const bare = bareHandler();
    const token = await fixtures.token(RESOURCE);

    const p1 = peerHandler('p1', { issuer: fixtures.issuer.issuer, resource: RESOURCE });
    const p2 = peerHandler('p2', {
      issuer: fixtures.issuer.issuer,
      resource: RESOURCE,
      workosApiUrl: config.workos?.apiUrl,
      workosApiKey: config.workos?.apiKey,
    });
    const pad = paddingHeader(token);

    const slots: Slot[] = [];
    const add = (
      id: ScenarioId,
      wire: Wire,
      variant: Slot['variant'],
      handler: Handler,
      request: Slot['request'],
      sink: AuditSink = stdoutAuditSink,
    ) => {
      if (!flags.only || flags.only.includes(id)) slots.push({ id, wire, variant, handler, request, sink, rounds: [] });
    };

    let coldPool: string[] = [];
    let coldNext = 0;
    const coldLimits = new Map<Wire, number>();
    for (const wire of WIRES) {
      // The default configuration: every audit record is a real JSON line on stdout (/dev/null).
      add('a', wire, 'no audit', bare, () => post('a', wire));
      add('b', wire, 'stdout', endpoint, () => post('b', wire));
      add('b-pad', wire, 'stdout', endpoint, () => post('b-pad', wire, undefined, pad));
      add('c', wire, 'stdout', endpoint, () => post('c', wire, token));
      add('c', wire, 'noop', endpoint, () => post('c', wire, token), noopSink);
      add('c-cold', wire, 'stdout', endpoint, () =>
        coldNext < (coldLimits.get(wire) ?? 0) ? post('c-cold', wire, coldPool[coldNext++]) : undefined,
      );
      add('d', wire, 'stdout', endpoint, () => post('d', wire, token));
      add('e', wire, 'stdout', endpoint, () => post('e', wire, token));
      add('p1', wire, 'peer', p1, () => post('p1', wire, token));
      add('p2', wire, 'peer', p2, () => post('p2', wire, token));
    }

    const perRound = slots.length * flags.inprocRoundMs;
    const rounds = Math.max(3, Math.floor((flags.inprocSeconds * 1000) / perRound));
    const coldSlots = slots.filter((slot) => slot.id === 'c-cold').length;
    const perColdRound = Math.floor(flags.coldTokens / ((rounds + 1) * Math.max(1, coldSlots)));

    // Fresh tokens for c-cold, signed before any measurement (signing is ~10x the cost of verifying).
    const signStart = performance.now();
    const batches = Math.ceil(flags.coldTokens / 200);
    for (let b = 0; b < batches; b++) {
      const n = Math.min(200, flags.coldTokens - coldPool.length);
      coldPool.push(...(await Promise.all(Array.from({ length: n }, () => fixtures.token(RESOURCE)))));
    }
    log(
      `[inproc] signed ${coldPool.length} fresh tokens for c-cold in ${Math.round(performance.now() - signStart)} ms`,
    );

    // Warm-up (not recorded): JIT, the JWKS fetch, the identity cache (membership and member list).
    log(`[inproc] warm-up: ${slots.length} scenario slots x ${Math.round(flags.inprocRoundMs / 2)} ms`);
    for (const slot of slots) {
      if (slot.id === 'c-cold') coldLimits.set(slot.wire, coldNext + perColdRound);
      await runRound(slot, flags.inprocRoundMs / 2, flags.concurrency);
    }
    const identityRequestsBefore = lookup.requestCount();

    log(
      `[inproc] ${rounds} rounds x ${slots.length} slots x ${flags.inprocRoundMs} ms, concurrency ${flags.concurrency}`,
    );
    const deadline = Date.now() + flags.inprocSeconds * 1000 * 1.5 + 5_000;
    for (let r = 0; r < rounds && Date.now() < deadline; r++) {
      // Rotate the starting slot each round so no scenario always runs right after a GC-heavy one.
      for (let k = 0; k < slots.length; k++) {
        const slot = slots[(k + r) % slots.length]!;
        if (slot.id === 'c-cold') coldLimits.set(slot.wire, Math.min(coldPool.length, coldNext + perColdRound));
        slot.rounds.push(await runRound(slot, flags.inprocRoundMs, flags.concurrency));
      }
      const a = slots[0]!.rounds.at(-1)!;
      log(`[inproc] round ${r + 1}/${rounds}: (a) ${Math.round(a.rps)} req/s on ${slots[0]!.wire}`);
    }
    line = noopSink;
    const identityApiRequestsDuringMeasurement = lookup.requestCount() - identityRequestsBefore;

    const scenarios: ScenarioSummary[] = [];
    for (const wire of WIRES) {
      const onWire = slots
        .filter((s) => s.wire === wire)
        .map((s) => summarize(s.id, s.wire, s.variant, SCENARIO_LABELS[s.id], s.rounds));
      scenarios.push(
        ...withRatios(
          onWire,
          onWire.find((s) => s.id === 'a'),
        ),
      );
    }
    coldPool = [];
    return {
      concurrency: flags.concurrency,
      roundMs: flags.inprocRoundMs,
      rounds,
      coldTokensSigned: flags.coldTokens,
      workosDelayMs: flags.workosDelayMs,
      identityApiRequestsDuringMeasurement,
      jwksFetches: fixtures.issuer.jwksFetches(),
      scenarios,
    };
  } finally {
    await fixtures.close();
  }
}

// Child-process entry: run.ts passes the flags as JSON and reads the result file.
if (process.env.BENCH_CHILD_FLAGS && process.env.BENCH_CHILD_RESULT) {
  const flags = JSON.parse(process.env.BENCH_CHILD_FLAGS) as Flags;
  runInProcess(flags).then(
    (result) => {
      writeFileSync(process.env.BENCH_CHILD_RESULT!, JSON.stringify(result));
      process.exit(0);
    },
    (error: unknown) => {
      log(`[inproc] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
