import type { IncomingMessage, ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '@/lib/audit/record';
import { createHttpAuditSink, type GapRecord, type HttpAuditSink } from '@/lib/audit/http-sink';
import { loadConfig, type Config } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { MCP_HEADERS } from '../helpers/app';
import { listen, serveFetchHandler, type Listening } from '../helpers/net';
import { countingRegistry, rawRequest, type RunLog } from './helpers';

/**
 * One request cannot flood the audit trail, and volume never costs a record. The endpoint runs
 * in-process over real HTTP on 127.0.0.1 with the signed HTTP sink pointed at a receiver this file
 * starts (and slows down), and every record on "stdout" (the injected line writer) is looked for in
 * what the receiver got, signatures checked.
 */
const SECRET = `whsec_${Buffer.from('audit-volume-secret-0123456789abcdef').toString('base64')}`;
const RESOURCE = 'https://mcp.example.test/mcp';
const ran: RunLog = [];
const registry = countingRegistry(ran);
const stdout: AuditRecord[] = [];

type Delivery = { records: Array<AuditRecord | GapRecord>; valid: boolean };
let receiver: Listening;
const deliveries: Delivery[] = [];
let delayMs = 0;
let answer = 204;

const tasks: Array<Promise<unknown>> = [];
const waitUntil = (task: Promise<unknown>) => void tasks.push(task);

async function receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
  if (answer === 204) {
    let valid = true;
    try {
      new Webhook(SECRET).verify(body, req.headers as Record<string, string>);
    } catch {
      valid = false;
    }
    deliveries.push({ records: (JSON.parse(body) as { data: Delivery }).data.records, valid });
  }
  res.writeHead(answer).end();
}

let config: Config;
beforeAll(async () => {
  receiver = await listen((req, res) => void receive(req, res));
  config = loadConfig({
    NODE_ENV: 'production',
    AUTHKIT_DOMAIN: 'https://issuer.example.test',
    MCP_RESOURCE_URL: RESOURCE,
    AUDIT_SINK_URL: `${receiver.url}/audit`,
    AUDIT_SINK_SECRET: SECRET,
  });
});
afterAll(async () => receiver?.close());
afterEach(async () => {
  await Promise.all(tasks.splice(0));
  stdout.length = 0;
  deliveries.length = 0;
  ran.length = 0;
  delayMs = 0;
  answer = 204;
});

/** An endpoint with its own sink: the default (AUDIT_SINK_URL, as in production) unless one is given. */
async function serve(sink?: HttpAuditSink): Promise<Listening> {
  return serveFetchHandler(
    createMcpEndpoint({
      registry,
      config: () => config,
      waitUntil,
      ...(sink ? { auditSink: () => sink } : {}),
      auditLine: (record) => stdout.push(record),
    }),
  );
}

const call = (name: string, id: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: {} },
});
const batch = (n: number, name: string) => Array.from({ length: n }, (_, i) => call(name, i + 1));
const post = (url: string, body: unknown, version = '2025-11-25') =>
  rawRequest(url, {
    headers: { ...MCP_HEADERS, 'mcp-protocol-version': version },
    body: JSON.stringify(body),
    timeoutMs: 60_000,
  });

const delivered = () =>
  deliveries.flatMap((d) => d.records).filter((r): r is AuditRecord => r.type !== 'audit_sink_gap');
/** Records of one batch can be identical (same request, tool, millisecond): compare as multisets of their JSON. */
const key = (r: AuditRecord) => JSON.stringify(r);

describe('bounded amplification', () => {
  it('two concurrent anonymous 4,000-call batches (2025-11-25) write two records, both delivered', async () => {
    const endpoint = await serve();
    try {
      const responses = await Promise.all([
        post(endpoint.url, batch(4_000, 'member')),
        post(endpoint.url, batch(4_000, 'member')),
      ]);
      expect(responses.map((r) => r.status)).toEqual([400, 400]);
      await Promise.all(tasks.splice(0));
      expect(stdout).toHaveLength(2);
      expect(stdout.every((r) => r.type === 'request_rejected' && r.reason === 'batch_not_supported')).toBe(true);
      expect(delivered().map(key).sort()).toEqual(stdout.map(key).sort());
      expect(ran).toEqual([]);
    } finally {
      await endpoint.close();
    }
  });
});

describe('no record lost to volume', () => {
  it('40 concurrent 2025-03-26 batches of 100 public calls through a slow receiver: all 4,000 records arrive, signed', async () => {
    delayMs = 50;
    const endpoint = await serve();
    try {
      const responses = await Promise.all(
        Array.from({ length: 40 }, () => post(endpoint.url, batch(100, 'open'), '2025-03-26')),
      );
      expect(responses.every((r) => r.status === 200)).toBe(true);
      await Promise.all(tasks.splice(0));
      expect(ran).toHaveLength(4_000);
      expect(stdout).toHaveLength(4_000);
      expect(deliveries.every((d) => d.valid)).toBe(true);
      expect(deliveries.some((d) => d.records.some((r) => r.type === 'audit_sink_gap'))).toBe(false);
      const received = delivered().map(key);
      expect(received).toHaveLength(4_000);
      expect(received.sort()).toEqual(stdout.map(key).sort());
    } finally {
      await endpoint.close();
    }
  }, 120_000);

  it('a full queue holds callers back (backpressure), then lets them in: nothing lost, nothing refused', async () => {
    delayMs = 100;
    const sink = createHttpAuditSink({
      url: `${receiver.url}/audit`,
      secrets: [SECRET],
      capacity: 250,
      batchSize: 100,
      log: () => {},
      metric: () => {},
    });
    const endpoint = await serve(sink);
    try {
      const started = Date.now();
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => post(endpoint.url, batch(100, 'open'), '2025-03-26')),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
      await Promise.all(tasks.splice(0));
      // 1,000 records through a 250-record queue and a receiver taking 100 ms a batch: some waited.
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);
      expect(sink.lost()).toBe(0);
      expect(delivered().map(key).sort()).toEqual(stdout.map(key).sort());
      expect(stdout).toHaveLength(1_000);
    } finally {
      await endpoint.close();
    }
  }, 60_000);

  it('a queue that stays full while the receiver is up refuses the request with 503 before anything runs', async () => {
    delayMs = 3_000;
    const sink = createHttpAuditSink({
      url: `${receiver.url}/audit`,
      secrets: [SECRET],
      capacity: 100,
      reserveWaitMs: 200,
      timeoutMs: 10_000,
      log: () => {},
      metric: () => {},
    });
    const endpoint = await serve(sink);
    try {
      const first = await post(endpoint.url, batch(100, 'open'), '2025-03-26');
      expect(first.status).toBe(200);
      const refused = await post(endpoint.url, call('open', 1));
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      expect(JSON.parse(refused.text)).toMatchObject({ error: { data: { reason: 'audit_backpressure' } } });
      expect(ran).toHaveLength(100); // the refused request ran nothing
      // Its stdout line is written; the sink counts it and will report it.
      expect(stdout.at(-1)).toMatchObject({ type: 'request_rejected', reason: 'audit_backpressure', status: 503 });
      expect(sink.losses()).toMatchObject({ backpressure: 1 });
    } finally {
      await endpoint.close();
    }
  }, 60_000);
});

describe('a receiver that is down', () => {
  it('losses are counted and logged once, then reported as a gap record and a metric line on recovery', async () => {
    answer = 503;
    const lines: string[] = [];
    const metrics: string[] = [];
    const sink = createHttpAuditSink({
      url: `${receiver.url}/audit`,
      secrets: [SECRET],
      retryDelaysMs: [10, 10],
      log: (l) => lines.push(l),
      metric: (m) => metrics.push(m),
    });
    const endpoint = await serve(sink);
    // Deliveries of an earlier test's sink (its own gap record) can still land while this one runs.
    const earlier = deliveries.length;
    try {
      // One at a time, each flush finished before the next request (a flush that joins a failing one
      // leaves its records queued for the next attempt instead).
      for (let i = 0; i < 5; i++) {
        expect((await post(endpoint.url, call('open', i))).status).toBe(200);
        await Promise.all(tasks.splice(0));
      }
      expect(stdout).toHaveLength(5); // stdout is never affected
      expect(sink.lost()).toBe(5);
      expect(lines.filter((l) => l.startsWith('[audit] sink delivery failed:'))).toHaveLength(1);
      expect(lines.filter((l) => l.startsWith('[audit] sink: '))).toHaveLength(1);
      expect(metrics).toEqual([]);

      answer = 204;
      expect((await post(endpoint.url, call('open', 9))).status).toBe(200);
      await Promise.all(tasks.splice(0));
      const gap = deliveries
        .slice(earlier)
        .flatMap((d) => d.records)
        .find((r): r is GapRecord => r.type === 'audit_sink_gap');
      expect(gap).toMatchObject({ lost: 5, reasons: { delivery_failed: 5 } });
      expect(delivered()).toEqual([stdout.at(-1)]);
      expect(metrics).toHaveLength(1);
      expect(JSON.parse(metrics[0]!)).toMatchObject({ metric: { name: 'audit_sink_lost_records', value: 5 } });
    } finally {
      await endpoint.close();
    }
  }, 60_000);
});
