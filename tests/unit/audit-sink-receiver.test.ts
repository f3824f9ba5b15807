import type { IncomingMessage } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createHttpAuditSink } from '@/lib/audit/http-sink';
import { loadConfig } from '@/lib/config';
import { createRegistry, defineTool, jsonResult } from '@/lib/registry';
import { MCP_HEADERS } from '../helpers/app';
import { useEndpoint } from '../helpers/endpoint';
import { listen, type Listening } from '../helpers/net';

/**
 * What a receiver of the HTTP audit sink writes, and nothing of ours: receivers on 127.0.0.1 that
 * verify each batch with the `standardwebhooks` library alone (the README's snippet), fed by a real
 * endpoint. They accept its batches and the records are the ones written to stdout; while the secret
 * rotates (two secrets) a receiver holding either one accepts; a receiver refuses a batch that was
 * tampered with, signed with another secret, or replayed after the library's 5-minute window.
 */
const key = (label: string) => `whsec_${Buffer.from(`${label}-audit-receiver-secret-0123456789`).toString('base64')}`;
const NEW = key('new');
const PRODUCTION = {
  NODE_ENV: 'production',
  AUTHKIT_DOMAIN: 'https://issuer.example.test',
  MCP_RESOURCE_URL: 'https://mcp.example.test/mcp',
};
const OLD = key('old');

type Delivery = { headers: Record<string, string>; body: string };
type Receiver = Listening & { accepted: Delivery[]; refused: Array<Delivery & { why: string }>; ids: Set<string> };

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The receiver a user writes: verify the raw body with the library, de-duplicate by webhook-id, 204. */
async function receiver(secret: string): Promise<Receiver> {
  const webhook = new Webhook(secret);
  const accepted: Delivery[] = [];
  const refused: Receiver['refused'] = [];
  const ids = new Set<string>();
  const server = await listen(async (req, res) => {
    const body = await readBody(req);
    const headers = req.headers as Record<string, string>;
    try {
      webhook.verify(body, headers);
    } catch (error) {
      refused.push({ headers, body, why: error instanceof Error ? error.message : String(error) });
      res.writeHead(401).end();
      return;
    }
    if (!ids.has(headers['webhook-id']!)) accepted.push({ headers, body });
    ids.add(headers['webhook-id']!);
    res.writeHead(204).end();
  });
  return Object.assign(server, { accepted, refused, ids });
}

const recordsOf = (deliveries: Delivery[]) =>
  deliveries.flatMap((d) => (JSON.parse(d.body) as { data: { records: Array<Record<string, unknown>> } }).data.records);

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

let current: Receiver;
let previous: Receiver;
beforeAll(async () => {
  [current, previous] = await Promise.all([receiver(NEW), receiver(OLD)]);
});
afterAll(async () => Promise.all([current?.close(), previous?.close()]));

const registry = createRegistry([
  defineTool({
    name: 'open',
    title: 'Open',
    description: 'public',
    access: 'public',
    input: z.object({}),
    handler: () => jsonResult({ ok: true }),
  }),
  defineTool({
    name: 'scoped',
    title: 'Scoped',
    description: 'needs a scope',
    access: { scopes: ['docs:read'] },
    input: z.object({}),
    handler: () => jsonResult({ ok: true }),
  }),
]);
const endpoint = useEndpoint(registry, () => ({ AUDIT_SINK_URL: `${current.url}/audit`, AUDIT_SINK_SECRET: NEW }));

async function call(url: string, name: string): Promise<number> {
  const response = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: MCP_HEADERS,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Sends a delivery again, as an attacker or a network could. */
async function replay(to: Receiver, delivery: Delivery): Promise<number> {
  const {
    'content-type': type,
    'webhook-id': id,
    'webhook-timestamp': at,
    'webhook-signature': signature,
  } = delivery.headers;
  const headers = {
    'content-type': type!,
    'webhook-id': id!,
    'webhook-timestamp': at!,
    'webhook-signature': signature!,
  };
  const response = await fetch(`${to.url}/audit`, { method: 'POST', headers, body: delivery.body });
  await response.arrayBuffer();
  return response.status;
}

describe('a receiver verifying with the standardwebhooks library alone', () => {
  it("accepts the endpoint's batches, and their records are the ones written to stdout", async () => {
    const before = endpoint.records.length;
    expect([await call(endpoint.server.url, 'open'), await call(endpoint.server.url, 'scoped')]).toEqual([200, 401]);
    await until(() => recordsOf(current.accepted).length >= 2);
    expect(current.refused).toEqual([]);
    const printed = endpoint.records.slice(before);
    expect(printed.map((r) => r.decision)).toEqual(['allow', 'challenge']);
    const json = (records: unknown[]) => records.map((r) => JSON.stringify(r)).sort();
    expect(json(recordsOf(current.accepted))).toEqual(json(printed));
    const [first] = current.accepted;
    expect(first!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });

  it('while the secret rotates, a receiver holding either secret accepts; one holding neither refuses', async () => {
    // AUDIT_SINK_SECRET="<new> <old>" while receivers move over, posting to one that still holds the old one.
    const rotating = loadConfig({
      ...PRODUCTION,
      AUDIT_SINK_URL: `${previous.url}/audit`,
      AUDIT_SINK_SECRET: `${NEW} ${OLD}`,
    }).auditSink!;
    expect(rotating.secrets).toEqual([NEW, OLD]);
    const sink = createHttpAuditSink({ ...rotating, log: () => {}, metric: () => {} });
    sink.enqueue({ type: 'tool_call', time: new Date().toISOString(), requestId: 'r-rotate', decision: 'allow' });
    await expect(sink.flush()).resolves.toMatchObject({ ok: true, sent: 1 });
    const delivery = previous.accepted.at(-1)!;
    expect(delivery.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(recordsOf([delivery])).toMatchObject([{ requestId: 'r-rotate' }]);
    // The same bytes, to the receiver that already moved to the new secret: accepted too.
    expect(await replay(current, delivery)).toBe(204);
    const stranger = await receiver(key('stranger'));
    try {
      expect(await replay(stranger, delivery)).toBe(401);
      expect(stranger.refused[0]!.why).toMatch(/No matching signature/);
    } finally {
      await stranger.close();
    }
  });

  it('once the old secret is dropped, the old receiver refuses, and the sink counts the loss', async () => {
    const lines: string[] = [];
    const sink = createHttpAuditSink({
      url: `${previous.url}/audit`,
      secrets: [NEW],
      maxAttempts: 1,
      log: (line) => lines.push(line),
      metric: () => {},
    });
    sink.enqueue({ type: 'tool_call', time: new Date().toISOString(), requestId: 'r-dropped', decision: 'allow' });
    await expect(sink.flush()).resolves.toEqual({ ok: false, sent: 0, failed: 1 });
    expect(previous.refused.at(-1)!.why).toMatch(/No matching signature/);
    expect(sink.losses()).toMatchObject({ delivery_failed: 1 });
    expect(lines.join('\n')).toContain('HTTP 401');
  });

  it('refuses a batch whose body, id or timestamp was changed', async () => {
    const delivery = current.accepted[0]!;
    const tampered: Delivery[] = [
      // A decision flipped: the one change an attacker would make.
      {
        ...delivery,
        body: delivery.body.replace(
          /"decision":"(\w+)"/,
          (_m, d) => `"decision":"${d === 'allow' ? 'deny' : 'allow'}"`,
        ),
      },
      { ...delivery, body: delivery.body.replace('"records":[', '"records":[{"type":"tool_call"},') },
      { ...delivery, headers: { ...delivery.headers, 'webhook-id': `${delivery.headers['webhook-id']}x` } },
      {
        ...delivery,
        headers: {
          ...delivery.headers,
          'webhook-timestamp': String(Number(delivery.headers['webhook-timestamp']) + 1),
        },
      },
      {
        ...delivery,
        headers: { ...delivery.headers, 'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}` },
      },
    ];
    expect(tampered[0]!.body).not.toBe(delivery.body);
    const refusedBefore = current.refused.length;
    for (const attempt of tampered) expect(await replay(current, attempt)).toBe(401);
    expect(current.refused.slice(refusedBefore).map((r) => r.why)).toEqual(
      Array(5).fill('No matching signature found'),
    );
  });

  it('refuses a batch replayed after the 5-minute window, and one dated ahead of it', async () => {
    const delivery = current.accepted[0]!;
    const refusedBefore = current.refused.length;
    // The receiver's clock moves; the delivery's signed timestamp does not.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 6 * 60_000);
      expect(await replay(current, delivery)).toBe(401);
      vi.setSystemTime(Date.now() - 12 * 60_000);
      expect(await replay(current, delivery)).toBe(401);
    } finally {
      vi.useRealTimers();
    }
    expect(current.refused.slice(refusedBefore).map((r) => r.why)).toEqual([
      'Message timestamp too old',
      'Message timestamp too new',
    ]);
  });
});
