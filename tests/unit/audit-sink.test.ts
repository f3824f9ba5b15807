import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '@/lib/audit/record';
import { Webhook } from 'standardwebhooks';
import { createHttpAuditSink } from '@/lib/audit/http-sink';
import { listen, type Listening } from '../helpers/net';

// A Standard Webhooks secret: whsec_ and the base64 of 32 bytes (made here, never a real one).
const SECRET = `whsec_${Buffer.from('S3CRET-audit-sink-0123456789-XYZZY').toString('base64')}`;

type Received = {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: string;
};

function record(n: number, extra: Partial<AuditRecord> = {}): AuditRecord {
  return {
    type: 'tool_call',
    time: `2026-01-01T00:00:0${n % 10}.000Z`,
    requestId: `req-${n}`,
    tool: 'notes.read',
    decision: 'allow',
    outcome: 'ok',
    ...extra,
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const servers: Listening[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A receiver on 127.0.0.1 that records every request and answers via `respond` (default 204). */
async function receiver(
  respond: (req: Received, res: ServerResponse) => void | Promise<void> = (_r, res) => void res.writeHead(204).end(),
) {
  const received: Received[] = [];
  const server = await listen(async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const entry = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body,
    };
    received.push(entry);
    await respond(entry, res);
  });
  servers.push(server);
  return { url: `${server.url}/audit`, received, server };
}

/** The records of one delivered batch (`{"type":"audit.batch","timestamp":...,"data":{"records":[...]}}`). */
function recordsOf(body: string): Array<Record<string, unknown>> {
  return (JSON.parse(body) as { data: { records: Array<Record<string, unknown>> } }).data.records;
}

/** The requestId of each record of a batch (undefined for a gap record). */
function requestIds(body: string): Array<string | undefined> {
  return recordsOf(body).map((r) => r.requestId as string | undefined);
}

/** The Standard Webhooks headers of a received request, as the library takes them. */
function headersOf(req: Received): Record<string, string> {
  return Object.fromEntries(
    ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(req.headers[h])]),
  );
}

describe('HTTP audit sink: delivery and signature', () => {
  it('POSTs all enqueued records in order, once per flush, signed as a Standard Webhook', async () => {
    const { url, received } = await receiver();
    const sink = createHttpAuditSink({ url, secrets: [SECRET], log: () => {} });
    for (let i = 1; i <= 4; i++) sink.enqueue(record(i));
    expect(sink.pending()).toBe(4);

    await expect(sink.flush()).resolves.toEqual({ ok: true, sent: 4, failed: 0 });
    expect(sink.pending()).toBe(0);
    expect(received).toHaveLength(1);
    const [req] = received;
    expect(req!.method).toBe('POST');
    expect(req!.path).toBe('/audit');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(requestIds(req!.body)).toEqual(['req-1', 'req-2', 'req-3', 'req-4']);
    expect(JSON.parse(req!.body)).toEqual({
      type: 'audit.batch',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: { records: [record(1), record(2), record(3), record(4)] },
    });
    // The id is signed as `id.timestamp.body`: it must not hold a `.` (Standard Webhooks).
    expect(String(req!.headers['webhook-id'])).toMatch(/^msg_[0-9a-f-]+_\d+$/);
    expect(Math.abs(Number(req!.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(String(req!.headers['webhook-signature'])).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    // The library verifies it; the rest (tampering, staleness, rotation) is tests/unit/audit-sink-receiver.test.ts.
    expect(new Webhook(SECRET).verify(req!.body, headersOf(req!))).toEqual(JSON.parse(req!.body));

    // A second flush sends a second request with only the new records; an empty flush sends nothing.
    sink.enqueue(record(5));
    await expect(sink.flush()).resolves.toEqual({ ok: true, sent: 1, failed: 0 });
    await expect(sink.flush()).resolves.toEqual({ ok: true, sent: 0, failed: 0 });
    expect(received).toHaveLength(2);
    expect(requestIds(received[1]!.body)).toEqual(['req-5']);
    expect(received[1]!.headers['webhook-id']).not.toBe(req!.headers['webhook-id']);
  });

  it('signs the exact body bytes, including non-ASCII record values', async () => {
    const { url, received } = await receiver();
    const sink = createHttpAuditSink({ url, secrets: [SECRET], log: () => {} });
    sink.enqueue(record(1, { arguments: { title: 'Grüße ✓ "quoted" \n line' } }));
    await expect(sink.flush()).resolves.toMatchObject({ ok: true, sent: 1 });
    const req = received[0]!;
    expect(() => new Webhook(SECRET).verify(req.body, headersOf(req))).not.toThrow();
    expect(recordsOf(req.body)[0]!.arguments).toEqual({ title: 'Grüße ✓ "quoted" \n line' });
  });

  it('never puts the secret in a request (headers, body or path)', async () => {
    const { url, received } = await receiver();
    const sink = createHttpAuditSink({ url, secrets: [SECRET], log: () => {} });
    sink.enqueue(record(1));
    sink.enqueue(record(2, { reason: 'r' }));
    await sink.flush();
    expect(received).toHaveLength(1);
    const seen = [received[0]!.path, received[0]!.body, ...received[0]!.rawHeaders].join('\n');
    expect(seen).not.toContain(SECRET);
    expect(seen.toLowerCase()).not.toContain(SECRET.toLowerCase());
    const key = SECRET.slice('whsec_'.length);
    expect(seen).not.toContain(key);
    expect(seen).not.toContain(Buffer.from(key, 'base64').toString('hex'));
  });

  it('does not follow redirects', async () => {
    const target = await receiver();
    const redirecting = await receiver((_r, res) => void res.writeHead(307, { location: target.url }).end());
    const lines: string[] = [];
    const sink = createHttpAuditSink({
      url: redirecting.url,
      secrets: [SECRET],
      maxAttempts: 1,
      log: (l) => lines.push(l),
    });
    sink.enqueue(record(1));
    await expect(sink.flush()).resolves.toEqual({ ok: false, sent: 0, failed: 1 });
    expect(redirecting.received).toHaveLength(1);
    expect(target.received).toHaveLength(0);
    expect(lines).toEqual([
      expect.stringMatching(/^\[audit\] sink delivery failed: /),
      expect.stringMatching(/^\[audit\] sink: 1 record\(s\) will not reach/),
    ]);
  });
});

describe('HTTP audit sink: a sink that is down', () => {
  // Distinctive values in every field the log lines must not reveal.
  const marked = (n: number): AuditRecord =>
    record(n, {
      requestId: `REQID-MARK-${n}`,
      sub: 'user_SUBJECT_MARK',
      org_id: 'org_ORG_MARK',
      client_id: 'client_CLIENT_MARK',
      sid: 'session_SID_MARK',
      jti: 'jti_JTI_MARK',
      tool: 'TOOLNAME_MARK',
      reason: 'REASON_MARK',
      scopes: ['SCOPE_MARK'],
      arguments: { note: 'ARGUMENT_VALUE_MARK' },
    });
  const forbidden = [
    SECRET,
    'MARK',
    'REQID',
    'SUBJECT',
    'ARGUMENT_VALUE',
    'SCOPE_',
    'TOOLNAME',
    'notes.read',
    'audit?',
    'token=',
    'user:pw',
  ];

  /** One line for the failed delivery, one for the loss: single lines that reveal nothing of the records. */
  function expectCleanLines(lines: string[]): void {
    expect(lines).toEqual([
      expect.stringMatching(/^\[audit\] sink delivery failed: /),
      expect.stringMatching(/^\[audit\] sink: 2 record\(s\) will not reach /),
    ]);
    for (const line of lines) {
      expect(line).not.toMatch(/[\r\n]/);
      for (const value of forbidden) expect(line).not.toContain(value);
    }
  }

  async function failingFlush(url: string, timeoutMs = 5000) {
    const lines: string[] = [];
    const sink = createHttpAuditSink({
      url,
      secrets: [SECRET],
      timeoutMs,
      retryDelaysMs: [10, 10],
      log: (l) => lines.push(l),
      metric: () => {},
    });
    sink.enqueue(marked(1));
    sink.enqueue(marked(2));
    const started = Date.now();
    const result = await sink.flush();
    return { result, lines, elapsed: Date.now() - started, sink };
  }

  it('answers 503: three attempts, then the batch is lost, counted, and logged once', async () => {
    const { url, received } = await receiver((_r, res) => void res.writeHead(503).end('down'));
    const { result, lines, sink } = await failingFlush(`${url}?token=abc`);
    expect(result).toEqual({ ok: false, sent: 0, failed: 2 });
    expectCleanLines(lines);
    expect(lines[0]).toContain('HTTP 503');
    expect(lines[0]).toContain('2 records');
    expect(received).toHaveLength(3);
    expect(received.every((r) => JSON.stringify(requestIds(r.body)) === '["REQID-MARK-1","REQID-MARK-2"]')).toBe(true);
    // Every attempt of one batch carries the same webhook-id and body, for receivers that store exactly once.
    expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    expect(sink.pending()).toBe(0);
    expect(sink.lost()).toBe(2);
    expect(sink.losses()).toMatchObject({ delivery_failed: 2 });

    // Still down: one attempt per flush now, and no new log line for the same outage.
    sink.enqueue(marked(3));
    await expect(sink.flush()).resolves.toEqual({ ok: false, sent: 0, failed: 1 });
    expect(received).toHaveLength(4);
    expect(lines).toHaveLength(2);
    expect(sink.lost()).toBe(3);
  });

  it('server closed: resolves ok:false without throwing and logs one clean line per kind', async () => {
    const { url, server } = await receiver();
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const { result, lines, elapsed } = await failingFlush(url);
    expect(result).toEqual({ ok: false, sent: 0, failed: 2 });
    expect(elapsed).toBeLessThan(5000);
    expectCleanLines(lines);
    expect(lines[0]).toContain('network error');
  });

  it('never answers: each attempt ends at the timeout; the flush ends within the retry budget', async () => {
    const { url, received } = await receiver(() => {
      /* hold the request open; afterEach closes all connections */
    });
    const { result, lines, elapsed } = await failingFlush(url, 200);
    expect(result).toEqual({ ok: false, sent: 0, failed: 2 });
    expect(received).toHaveLength(3);
    expect(elapsed).toBeGreaterThanOrEqual(3 * 180);
    expect(elapsed).toBeLessThan(3_000);
    expectCleanLines(lines);
    expect(lines[0]).toContain('timeout');
  });

  it('a throwing fetch or log function does not make flush reject', async () => {
    const sink = createHttpAuditSink({
      url: 'https://audit.invalid/x',
      secrets: [SECRET],
      retryDelaysMs: [1],
      fetch: () => {
        throw new Error(`boom ${SECRET}`);
      },
      log: () => {
        throw new Error('log broken');
      },
      metric: () => {
        throw new Error('metric broken');
      },
    });
    sink.enqueue(marked(1));
    await expect(sink.flush()).resolves.toEqual({ ok: false, sent: 0, failed: 1 });
  });

  it('recovers after two failed attempts within one flush: nothing lost, one line', async () => {
    let failures = 2;
    const { url, received } = await receiver((_r, res) => void res.writeHead(failures-- > 0 ? 502 : 204).end());
    const lines: string[] = [];
    const sink = createHttpAuditSink({ url, secrets: [SECRET], retryDelaysMs: [10, 10], log: (l) => lines.push(l) });
    sink.enqueue(record(1));
    await expect(sink.flush()).resolves.toEqual({ ok: true, sent: 1, failed: 0 });
    expect(received).toHaveLength(3);
    expect(sink.lost()).toBe(0);
    expect(lines).toEqual([expect.stringMatching(/^\[audit\] sink delivery failed: HTTP 502 \(1 records, /)]);
  });

  it('after a loss, the next delivered batch starts with one gap record and stdout gets one metric line', async () => {
    let down = true;
    const { url, received } = await receiver((_r, res) => void res.writeHead(down ? 503 : 204).end());
    const metrics: string[] = [];
    const sink = createHttpAuditSink({
      url,
      secrets: [SECRET],
      maxAttempts: 1,
      log: () => {},
      metric: (m) => metrics.push(m),
    });
    sink.enqueue(record(1));
    sink.enqueue(record(2));
    await sink.flush();
    expect(sink.lost()).toBe(2);
    expect(metrics).toEqual([]);

    down = false;
    sink.enqueue(record(3));
    await expect(sink.flush()).resolves.toEqual({ ok: true, sent: 1, failed: 0 });
    const delivered = recordsOf(received.at(-1)!.body);
    expect(delivered).toHaveLength(2);
    expect(delivered[0]).toMatchObject({ type: 'audit_sink_gap', lost: 2, reasons: { delivery_failed: 2 } });
    expect(delivered[1]!.requestId).toBe('req-3');
    expect(metrics).toHaveLength(1);
    expect(JSON.parse(metrics[0]!)).toMatchObject({
      metric: { name: 'audit_sink_lost_records', value: 2, reasons: { delivery_failed: 2 } },
    });

    // Reported once: the next batch carries no gap record, and no second metric line follows.
    sink.enqueue(record(4));
    await sink.flush();
    expect(requestIds(received.at(-1)!.body)).toEqual(['req-4']);
    expect(metrics).toHaveLength(1);
  });

  it('a gap with nothing queued is still reported by the next flush', async () => {
    let down = true;
    const { url, received } = await receiver((_r, res) => void res.writeHead(down ? 503 : 204).end());
    const sink = createHttpAuditSink({ url, secrets: [SECRET], maxAttempts: 1, log: () => {}, metric: () => {} });
    sink.enqueue(record(1));
    await sink.flush();
    down = false;
    await expect(sink.flush()).resolves.toEqual({ ok: true, sent: 0, failed: 0 });
    expect(recordsOf(received.at(-1)!.body)).toMatchObject([{ type: 'audit_sink_gap', lost: 1 }]);
  });
});

describe('HTTP audit sink: no eviction, backpressure instead', () => {
  it('past its capacity an unreserved record is counted as lost; the queued ones are kept, oldest first', async () => {
    const { url, received } = await receiver();
    const lines: string[] = [];
    const sink = createHttpAuditSink({
      url,
      secrets: [SECRET],
      capacity: 3,
      log: (l) => lines.push(l),
      metric: () => {},
    });
    for (let i = 1; i <= 5; i++) sink.enqueue(record(i));
    expect(sink.pending()).toBe(3);
    expect(sink.losses()).toMatchObject({ queue_full: 2 });
    await expect(sink.flush()).resolves.toEqual({ ok: true, sent: 3, failed: 0 });
    // No drop-oldest: what was queued first is what is delivered, behind the gap record.
    expect(requestIds(received[0]!.body)).toEqual([undefined, 'req-1', 'req-2', 'req-3']);
    expect(lines).toEqual([expect.stringMatching(/^\[audit\] sink: 1 record\(s\) will not reach .* \(queue_full\)/)]);
  });

  it('a reservation waits while the queue is full and is granted once a delivery makes room', async () => {
    const { url } = await receiver(async (_r, res) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      res.writeHead(204).end();
    });
    const sink = createHttpAuditSink({ url, secrets: [SECRET], capacity: 10, log: () => {} });
    const first = await sink.reserve(10);
    expect(first.granted).toBe('queued');
    for (let i = 1; i <= 10; i++) sink.enqueue(record(i), first);
    const started = Date.now();
    const second = sink.reserve(5);
    let grantedEarly = false;
    void second.then(() => (grantedEarly = Date.now() - started < 50));
    void sink.flush();
    expect((await second).granted).toBe('queued');
    expect(grantedEarly).toBe(false);
    expect(sink.lost()).toBe(0);
  });

  it('a reservation that finds no room within reserveWaitMs while the receiver is up is refused', async () => {
    const { url } = await receiver(() => {
      /* a receiver that accepts and never answers: up, but slow */
    });
    const sink = createHttpAuditSink({
      url,
      secrets: [SECRET],
      capacity: 2,
      reserveWaitMs: 100,
      timeoutMs: 5_000,
      log: () => {},
    });
    const held = await sink.reserve(2);
    sink.enqueue(record(1), held);
    sink.enqueue(record(2), held);
    const refused = await sink.reserve(1);
    expect(refused.granted).toBe('refused');
    // The refused request's own record goes to stdout only; here it is counted, not queued.
    sink.enqueue(record(3), refused);
    expect(sink.pending()).toBe(2);
    expect(sink.losses()).toMatchObject({ backpressure: 1 });
  });

  it('a down sink does not hold callers: with the queue full, a reservation is granted unqueued at once', async () => {
    const { url } = await receiver((_r, res) => void res.writeHead(503).end());
    const sink = createHttpAuditSink({
      url,
      secrets: [SECRET],
      capacity: 2,
      maxAttempts: 1,
      log: () => {},
      metric: () => {},
    });
    sink.enqueue(record(1));
    await sink.flush(); // lost: the sink is down now
    const a = await sink.reserve(2);
    expect(a.granted).toBe('queued');
    const started = Date.now();
    const b = await sink.reserve(1);
    expect(b.granted).toBe('unqueued');
    expect(Date.now() - started).toBeLessThan(100);
    sink.enqueue(record(2), b);
    expect(sink.losses()).toMatchObject({ delivery_failed: 1, sink_down: 1 });
  });

  it('unused reserved room is given back', async () => {
    const { url } = await receiver();
    const sink = createHttpAuditSink({ url, secrets: [SECRET], capacity: 3, reserveWaitMs: 50, log: () => {} });
    const held = await sink.reserve(3);
    sink.enqueue(record(1), held);
    held.release();
    expect((await sink.reserve(2)).granted).toBe('queued');
  });

  it('attacker volume: 30 concurrent requests of 100 records each through a slow receiver and a 1,000-record queue lose nothing', async () => {
    const { url, received } = await receiver(async (_r, res) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      res.writeHead(204).end();
    });
    const sink = createHttpAuditSink({
      url,
      secrets: [SECRET],
      capacity: 1_000,
      batchSize: 250,
      log: () => {},
      metric: () => {},
    });
    const request = async (r: number) => {
      const held = await sink.reserve(100);
      expect(held.granted).toBe('queued');
      for (let i = 0; i < 100; i++) sink.enqueue(record(i, { requestId: `r${r}-${i}` }), held);
      held.release();
      return sink.flush();
    };
    const results = await Promise.all(Array.from({ length: 30 }, (_, r) => request(r)));
    expect(results.every((result) => result.ok)).toBe(true);
    const ids = received.flatMap((r) => requestIds(r.body));
    expect(ids).toHaveLength(3_000);
    expect(new Set(ids).size).toBe(3_000);
    expect(sink.lost()).toBe(0);
    expect(sink.pending()).toBe(0);
  });
});

describe('HTTP audit sink: concurrency', () => {
  it('concurrent flushes send each record exactly once', async () => {
    const { url, received } = await receiver(async (_r, res) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      res.writeHead(200).end('ok');
    });
    const sink = createHttpAuditSink({ url, secrets: [SECRET], log: () => {} });
    const flushes: Array<Promise<{ ok: boolean; sent: number }>> = [];
    let n = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 4; i++) sink.enqueue(record(++n));
      flushes.push(sink.flush(), sink.flush());
    }
    const results = await Promise.all(flushes);
    expect(results.every((r) => r.ok)).toBe(true);
    // The last flush waited for every record enqueued before it.
    expect(results.at(-1)!.sent).toBeGreaterThan(0);

    const ids = received.flatMap((r) => requestIds(r.body));
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
    expect([...ids].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `req-${i + 1}`).sort());
    expect(sink.pending()).toBe(0);
  });

  it('POSTs at most batchSize records at a time, in order', async () => {
    const { url, received } = await receiver();
    const sink = createHttpAuditSink({ url, secrets: [SECRET], batchSize: 4, log: () => {} });
    for (let i = 1; i <= 10; i++) sink.enqueue(record(i));
    await expect(sink.flush()).resolves.toEqual({ ok: true, sent: 10, failed: 0 });
    expect(received.map((r) => requestIds(r.body).length)).toEqual([4, 4, 2]);
    expect(received.flatMap((r) => requestIds(r.body))).toEqual(Array.from({ length: 10 }, (_, i) => `req-${i + 1}`));
  });
});

describe('HTTP audit sink: construction', () => {
  it('rejects unusable options without echoing the secret', () => {
    expect(() => createHttpAuditSink({ url: 'not a url', secrets: [SECRET] })).toThrow(/valid URL/);
    expect(() => createHttpAuditSink({ url: 'ftp://x.example/a', secrets: [SECRET] })).toThrow(/http/);
    expect(() => createHttpAuditSink({ url: 'https://user:pw@x.example/a', secrets: [SECRET] })).toThrow(/credentials/);
    // Not a Standard Webhooks secret: none, a raw string, too short a key, three at once.
    for (const secrets of [
      [],
      ['S3CRET-audit-sink-0123456789-XYZZY'],
      [`whsec_${btoa('16 bytes only...')}`],
      [SECRET, SECRET, SECRET],
    ])
      expect(() => createHttpAuditSink({ url: 'https://x.example/a', secrets })).toThrow(
        /^AUDIT_SINK_SECRET: .*whsec_/,
      );
    expect(() => createHttpAuditSink({ url: 'https://x.example/a', secrets: [SECRET], capacity: 0 })).toThrow(
      /capacity/,
    );
    expect(() => createHttpAuditSink({ url: 'https://x.example/a', secrets: [SECRET], batchSize: 1.5 })).toThrow(
      /batchSize/,
    );
    for (const secrets of [[SECRET], [`${SECRET}!`]]) {
      try {
        createHttpAuditSink({ url: 'not a url', secrets });
      } catch (error) {
        expect(String(error)).not.toContain(SECRET);
      }
    }
  });
});
