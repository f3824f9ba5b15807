import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyAuditSignature } from '@/lib/audit/http-sink';
import { auditRecords, MCP_HEADERS, rpc } from '../helpers/app';
import { useAppWithIssuer } from '../helpers/app-with-issuer';
import { listen, type Listening } from '../helpers/net';

/**
 * The signed HTTP audit sink, end to end: the built app (Edge route, flushed with Next's `after`)
 * posts its records to a receiver on 127.0.0.1. Signed batches arrive and match stdout; a sink that
 * is down changes no response and loses no stdout record.
 */
const SECRET = 'test-audit-secret-0123456789abcdef-0123456789';
let receiver: Listening;
let down = false;
const deliveries: Array<{ body: string; timestamp: string; signature: string }> = [];
let attempts = 0;

beforeAll(async () => {
  receiver = await listen(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    attempts += 1;
    if (down) {
      res.writeHead(503).end();
      return;
    }
    deliveries.push({
      body: Buffer.concat(chunks).toString('utf8'),
      timestamp: String(req.headers[TIMESTAMP_HEADER]),
      signature: String(req.headers[SIGNATURE_HEADER]),
    });
    res.writeHead(204).end();
  });
});
afterAll(async () => {
  await receiver?.close();
});
const stack = useAppWithIssuer(() => ({ AUDIT_SINK_URL: `${receiver.url}/audit`, AUDIT_SINK_SECRET: SECRET }));

async function traffic(): Promise<number[]> {
  const token = await stack.issuer.sign({
    aud: `${stack.app.url}/mcp`,
    sub: 'user_sink',
    org_id: 'org_acme',
    client_id: 'c1',
    scope: 'openid',
  });
  const calls: Array<[string, string | undefined]> = [
    ['ping', undefined],
    ['whoami', token],
    ['whoami', undefined], // 401 challenge
    ['ping', 'not.a.jwt'], // 401 rejected
  ];
  const statuses: number[] = [];
  for (const [tool, bearer] of calls) {
    const response = await fetch(`${stack.app.url}/mcp`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: rpc('tools/call', { name: tool, arguments: {} }),
    });
    await response.arrayBuffer();
    statuses.push(response.status);
  }
  return statuses;
}

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('HTTP audit sink', () => {
  it('delivers signed batches whose records are exactly the ones printed to stdout', async () => {
    const before = auditRecords(stack.app.output()).length;
    expect(await traffic()).toEqual([200, 200, 401, 401]);
    await until(() => deliveries.flatMap((d) => (JSON.parse(d.body) as { records: unknown[] }).records).length >= 4);

    for (const delivery of deliveries) {
      expect(
        await verifyAuditSignature({
          secret: SECRET,
          timestamp: delivery.timestamp,
          body: delivery.body,
          signature: delivery.signature,
        }),
      ).toBe(true);
      expect(
        await verifyAuditSignature({
          secret: 'wrong'.repeat(8),
          timestamp: delivery.timestamp,
          body: delivery.body,
          signature: delivery.signature,
        }),
      ).toBe(false);
      expect(delivery.body).not.toContain(SECRET);
    }
    const delivered = deliveries.flatMap(
      (d) => (JSON.parse(d.body) as { records: Array<Record<string, unknown>> }).records,
    );
    const printed = auditRecords(stack.app.output()).slice(before);
    expect(printed).toHaveLength(4);
    expect(delivered.map((r) => r.requestId).sort()).toEqual(printed.map((r) => r.requestId).sort());
    expect(delivered).toEqual(expect.arrayContaining(printed));
  });

  it('a sink that is down changes no response and loses no stdout record', async () => {
    down = true;
    const before = auditRecords(stack.app.output()).length;
    const attemptsBefore = attempts;
    try {
      expect(await traffic()).toEqual([200, 200, 401, 401]);
      await until(() => attempts > attemptsBefore);
      expect(attempts).toBeGreaterThan(attemptsBefore); // it did try, and failed
      await until(() => auditRecords(stack.app.output()).length >= before + 4);
      expect(auditRecords(stack.app.output()).slice(before)).toHaveLength(4);
      expect(stack.app.output()).toContain('[audit] sink delivery failed: HTTP 503');
      expect(stack.app.output()).not.toContain(SECRET);
    } finally {
      down = false;
    }
  });
});
