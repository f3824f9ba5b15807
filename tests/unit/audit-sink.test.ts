import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '@/lib/audit';
import { createHttpAuditSink, verifyAuditSignature } from '@/lib/audit-sink';
import { listen, type Listening } from '../helpers/net';

const SECRET = 'S3CRET-audit-sink-0123456789abcdef-XYZZY';

type Received = { method: string; path: string; headers: IncomingMessage['headers']; rawHeaders: string[]; body: string };

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
async function receiver(respond: (req: Received, res: ServerResponse) => void | Promise<void> = (_r, res) => void res.writeHead(204).end()) {
  const received: Received[] = [];
  const server = await listen(async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const entry = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body };
    received.push(entry);
    await respond(entry, res);
  });
  servers.push(server);
  return { url: `${server.url}/audit`, received, server };
}

function requestIds(body: string): string[] {
  const parsed = JSON.parse(body) as { records: AuditRecord[] };
  return parsed.records.map((r) => r.requestId);
}

describe('HTTP audit sink: delivery and signature', () => {
  it('POSTs all enqueued records in order, once per flush, with a verifiable signature', async () => {
    const { url, received } = await receiver();
    const sink = createHttpAuditSink({ url, secret: SECRET, log: () => {} });
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
    expect(JSON.parse(req!.body)).toEqual({ records: [record(1), record(2), record(3), record(4)] });

    const timestamp = String(req!.headers['x-audit-timestamp']);
    const signature = String(req!.headers['x-audit-signature']);
    expect(timestamp).toMatch(/^\d+$/);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);

    const ok = { secret: SECRET, timestamp, body: req!.body, signature };
    expect(await verifyAuditSignature(ok)).toBe(true);
    expect(await verifyAuditSignature({ ...ok, body: new TextEncoder().encode(req!.body) })).toBe(true);
    expect(await verifyAuditSignature({ ...ok, secret: `${SECRET}x` })).toBe(false);
    expect(await verifyAuditSignature({ ...ok, secret: 'another-secret-of-sufficient-length-000' })).toBe(false);
    expect(await verifyAuditSignature({ ...ok, body: req!.body.replace('req-2', 'req-9') })).toBe(false);
    expect(await verifyAuditSignature({ ...ok, body: `${req!.body} ` })).toBe(false);
    // The timestamp is inside the MAC: a fresh timestamp on an old body does not verify...
    expect(await verifyAuditSignature({ ...ok, timestamp: String(Number(timestamp) + 1) })).toBe(false);
    // ...and the original one is rejected once it is outside the tolerance (either direction).
    expect(await verifyAuditSignature({ ...ok, now: Number(timestamp) + 301 })).toBe(false);
    expect(await verifyAuditSignature({ ...ok, now: Number(timestamp) - 301 })).toBe(false);
    expect(await verifyAuditSignature({ ...ok, now: Number(timestamp) + 299 })).toBe(true);
    expect(await verifyAuditSignature({ ...ok, now: Number(timestamp) + 30, toleranceSeconds: 10 })).toBe(false);
    // Malformed signatures are rejected without throwing.
    expect(await verifyAuditSignature({ ...ok, signature: signature.toUpperCase() })).toBe(false);
    expect(await verifyAuditSignature({ ...ok, signature: signature.slice('sha256='.length) })).toBe(false);
    expect(await verifyAuditSignature({ ...ok, signature: `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}` })).toBe(false);
    expect(await verifyAuditSignature({ ...ok, timestamp: `${timestamp}.5` })).toBe(false);

    // A second flush sends a second request with only the new records; an empty flush sends nothing.
    sink.enqueue(record(5));
    await expect(sink.flush()).resolves.toEqual({ ok: true, sent: 1, failed: 0 });
    await expect(sink.flush()).resolves.toEqual({ ok: true, sent: 0, failed: 0 });
    expect(received).toHaveLength(2);
    expect(requestIds(received[1]!.body)).toEqual(['req-5']);
  });

  it('signs the exact body bytes, including non-ASCII record values', async () => {
    const { url, received } = await receiver();
    const sink = createHttpAuditSink({ url, secret: SECRET, log: () => {} });
    sink.enqueue(record(1, { arguments: { title: 'Grüße ✓ "quoted" \n line' } }));
    await expect(sink.flush()).resolves.toMatchObject({ ok: true, sent: 1 });
    const req = received[0]!;
    const valid = await verifyAuditSignature({
      secret: SECRET,
      timestamp: String(req.headers['x-audit-timestamp']),
      body: req.body,
      signature: String(req.headers['x-audit-signature']),
    });
    expect(valid).toBe(true);
    expect((JSON.parse(req.body) as { records: AuditRecord[] }).records[0]!.arguments).toEqual({ title: 'Grüße ✓ "quoted" \n line' });
  });

  it('never puts the secret in a request (headers, body or path)', async () => {
    const { url, received } = await receiver();
    const sink = createHttpAuditSink({ url, secret: SECRET, log: () => {} });
    sink.enqueue(record(1));
    sink.enqueue(record(2, { reason: 'r' }));
    await sink.flush();
    expect(received).toHaveLength(1);
    const seen = [received[0]!.path, received[0]!.body, ...received[0]!.rawHeaders].join('\n');
    expect(seen).not.toContain(SECRET);
    expect(seen.toLowerCase()).not.toContain(SECRET.toLowerCase());
    expect(seen).not.toContain(Buffer.from(SECRET).toString('base64'));
    expect(seen).not.toContain(Buffer.from(SECRET).toString('hex'));
  });

  it('does not follow redirects', async () => {
    const target = await receiver();
    const redirecting = await receiver((_r, res) => void res.writeHead(307, { location: target.url }).end());
    const lines: string[] = [];
    const sink = createHttpAuditSink({ url: redirecting.url, secret: SECRET, log: (l) => lines.push(l) });
    sink.enqueue(record(1));
    await expect(sink.flush()).resolves.toEqual({ ok: false, sent: 0, failed: 1 });
    expect(redirecting.received).toHaveLength(1);
    expect(target.received).toHaveLength(0);
    expect(lines).toHaveLength(1);
  });
});

describe('HTTP audit sink: a sink that is down', () => {
  // Distinctive values in every field the log line must not reveal.
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
  const forbidden = [SECRET, 'MARK', 'REQID', 'SUBJECT', 'ARGUMENT_VALUE', 'SCOPE_', 'TOOLNAME', 'notes.read', 'audit?', 'token=', 'user:pw'];

  function expectCleanSingleLine(lines: string[]): void {
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatch(/^\[audit\] sink delivery failed: /);
    expect(line).not.toMatch(/[\r\n]/);
    for (const value of forbidden) expect(line).not.toContain(value);
  }

  async function failingFlush(url: string, timeoutMs = 5000) {
    const lines: string[] = [];
    const sink = createHttpAuditSink({ url, secret: SECRET, timeoutMs, log: (l) => lines.push(l) });
    sink.enqueue(marked(1));
    sink.enqueue(marked(2));
    const started = Date.now();
    const result = await sink.flush();
    return { result, lines, elapsed: Date.now() - started, sink };
  }

  it('answers 503: resolves ok:false, logs one clean line, keeps the batch for one retry', async () => {
    const { url, received } = await receiver((_r, res) => void res.writeHead(503).end('down'));
    const { result, lines, sink } = await failingFlush(`${url}?token=abc`);
    expect(result).toEqual({ ok: false, sent: 0, failed: 2 });
    expectCleanSingleLine(lines);
    expect(lines[0]).toContain('HTTP 503');
    expect(lines[0]).toContain('2 records');
    expect(received).toHaveLength(1);

    // Re-queued once, at the front, in order.
    expect(sink.pending()).toBe(2);
    sink.enqueue(marked(3));
    await expect(sink.flush()).resolves.toEqual({ ok: false, sent: 0, failed: 3 });
    expect(requestIds(received[1]!.body)).toEqual(['REQID-MARK-1', 'REQID-MARK-2', 'REQID-MARK-3']);
    // Second failure: records 1 and 2 are dropped, 3 gets its one retry.
    expect(sink.pending()).toBe(1);
    expect(sink.dropped()).toBe(2);
  });

  it('server closed: resolves ok:false without throwing and logs one clean line', async () => {
    const { url, server } = await receiver();
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const { result, lines, elapsed } = await failingFlush(url);
    expect(result).toEqual({ ok: false, sent: 0, failed: 2 });
    expect(elapsed).toBeLessThan(5000);
    expectCleanSingleLine(lines);
    expect(lines[0]).toContain('network error');
  });

  it('never answers: resolves ok:false within the timeout and logs one clean line', async () => {
    const { url, received } = await receiver(() => {
      /* hold the request open; afterEach closes all connections */
    });
    const { result, lines, elapsed } = await failingFlush(url, 300);
    expect(result).toEqual({ ok: false, sent: 0, failed: 2 });
    expect(received).toHaveLength(1);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2000);
    expectCleanSingleLine(lines);
    expect(lines[0]).toContain('timeout');
  });

  it('a throwing fetch or log function does not make flush reject', async () => {
    const sink = createHttpAuditSink({
      url: 'https://audit.invalid/x',
      secret: SECRET,
      fetch: () => {
        throw new Error(`boom ${SECRET}`);
      },
      log: () => {
        throw new Error('log broken');
      },
    });
    sink.enqueue(marked(1));
    await expect(sink.flush()).resolves.toEqual({ ok: false, sent: 0, failed: 1 });
  });
});

describe('HTTP audit sink: queue bound', () => {
  it('with maxQueue 3, enqueuing 5 keeps (and sends) the newest 3', async () => {
    const { url, received } = await receiver();
    const lines: string[] = [];
    const sink = createHttpAuditSink({ url, secret: SECRET, maxQueue: 3, log: (l) => lines.push(l) });
    for (let i = 1; i <= 5; i++) sink.enqueue(record(i));
    expect(sink.pending()).toBe(3);
    expect(sink.dropped()).toBe(2);
    await expect(sink.flush()).resolves.toEqual({ ok: true, sent: 3, failed: 0 });
    expect(requestIds(received[0]!.body)).toEqual(['req-3', 'req-4', 'req-5']);
    // Drops are reported once, as a count only.
    expect(lines).toEqual([expect.stringMatching(/^\[audit\] sink queue: dropped 2 record/)]);
  });

  it('a failed batch is re-queued only as far as maxQueue allows', async () => {
    let fail = true;
    const { url, received } = await receiver((_r, res) => void res.writeHead(fail ? 500 : 204).end());
    const sink = createHttpAuditSink({ url, secret: SECRET, maxQueue: 3, log: () => {} });
    for (let i = 1; i <= 3; i++) sink.enqueue(record(i));
    const inFlight = sink.flush();
    sink.enqueue(record(4));
    sink.enqueue(record(5));
    await expect(inFlight).resolves.toEqual({ ok: false, sent: 0, failed: 3 });
    // Room for one of the failed batch: the newest of it (req-3) goes before the newer records.
    expect(sink.pending()).toBe(3);
    fail = false;
    await expect(sink.flush()).resolves.toEqual({ ok: true, sent: 3, failed: 0 });
    expect(requestIds(received[1]!.body)).toEqual(['req-3', 'req-4', 'req-5']);
  });
});

describe('HTTP audit sink: concurrency', () => {
  it('concurrent flushes send each record exactly once', async () => {
    const { url, received } = await receiver(async (_r, res) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      res.writeHead(200).end('ok');
    });
    const sink = createHttpAuditSink({ url, secret: SECRET, log: () => {} });
    const flushes: Array<Promise<unknown>> = [];
    let n = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 4; i++) sink.enqueue(record(++n));
      flushes.push(sink.flush(), sink.flush());
    }
    const results = (await Promise.all(flushes)) as Array<{ ok: boolean; sent: number }>;
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.reduce((sum, r) => sum + r.sent, 0)).toBe(20);

    const ids = received.flatMap((r) => requestIds(r.body));
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
    expect([...ids].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `req-${i + 1}`).sort());
    // Empty flushes made no request.
    expect(received).toHaveLength(5);
    expect(sink.pending()).toBe(0);
  });
});

describe('HTTP audit sink: construction', () => {
  it('rejects unusable options without echoing the secret', () => {
    expect(() => createHttpAuditSink({ url: 'not a url', secret: SECRET })).toThrow(/valid URL/);
    expect(() => createHttpAuditSink({ url: 'ftp://x.example/a', secret: SECRET })).toThrow(/http/);
    expect(() => createHttpAuditSink({ url: 'https://user:pw@x.example/a', secret: SECRET })).toThrow(/credentials/);
    expect(() => createHttpAuditSink({ url: 'https://x.example/a', secret: '' })).toThrow(/secret/);
    expect(() => createHttpAuditSink({ url: 'https://x.example/a', secret: SECRET, maxQueue: 0 })).toThrow(/maxQueue/);
    try {
      createHttpAuditSink({ url: 'not a url', secret: SECRET });
    } catch (error) {
      expect(String(error)).not.toContain(SECRET);
    }
  });
});
