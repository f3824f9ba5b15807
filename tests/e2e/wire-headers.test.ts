import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { auditRecords, readRpc, modernMeta } from '../helpers/app';
import { useAppWithIssuer } from '../helpers/app-with-issuer';

/**
 * Spec order on the 2026-07-28 wire, against the built app: the mirrored headers are checked
 * against the body before authentication and policy. A disagreement is 400 / -32020 with no
 * challenge, no tool run, and exactly one audit record.
 */
const stack = useAppWithIssuer();

const META = modernMeta('wire-test');
const call = (name: string) =>
  JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: {}, _meta: META } });
const headers = (method: string, name: string, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2026-07-28',
  'mcp-method': method,
  'mcp-name': name,
  ...extra,
});
const token = () =>
  stack.issuer.sign({
    aud: stack.endpoint,
    sub: 'user_alice',
    org_id: 'org_acme',
    client_id: 'client_1',
    scope: 'openid',
  });

async function refused(response: Response, before: number, reason: string) {
  expect(response.status).toBe(400);
  expect(response.headers.get('www-authenticate')).toBeNull();
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  expect(await response.json()).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32020, data: { reason } } });
  const records = auditRecords(stack.app.output()).slice(before);
  expect(records).toHaveLength(1);
  expect(records[0]).toMatchObject({ type: 'request_rejected', reason, status: 400, method: 'tools/call' });
  // Nothing ran: no tool_call record at all.
  expect(records.filter((r) => r.type === 'tool_call')).toHaveLength(0);
}

describe('header/body mismatch on 2026-07-28', () => {
  it('Mcp-Name names a public tool while the body calls a private one: 400 -32020, not a 401 challenge', async () => {
    const before = auditRecords(stack.app.output()).length;
    const response = await fetch(stack.endpoint, {
      method: 'POST',
      headers: headers('tools/call', 'ping'),
      body: call('whoami'),
    });
    await refused(response, before, 'name_header_mismatch');
  });

  it('Mcp-Name names a private tool while the body calls a public one, signed in: 400, ping never runs', async () => {
    const before = auditRecords(stack.app.output()).length;
    const response = await fetch(stack.endpoint, {
      method: 'POST',
      headers: headers('tools/call', 'whoami', { authorization: `Bearer ${await token()}` }),
      body: call('ping'),
    });
    await refused(response, before, 'name_header_mismatch');
  });

  it('Mcp-Method names tools/list while the body is a tools/call: 400 -32020', async () => {
    const before = auditRecords(stack.app.output()).length;
    const response = await fetch(stack.endpoint, {
      method: 'POST',
      headers: headers('tools/list', 'whoami'),
      body: call('whoami'),
    });
    await refused(response, before, 'method_header_mismatch');
  });

  it('the checks run before token verification: a bad token with a mismatch is still 400 -32020', async () => {
    const before = auditRecords(stack.app.output()).length;
    const response = await fetch(stack.endpoint, {
      method: 'POST',
      headers: headers('tools/call', 'ping', { authorization: 'Bearer not-a-jwt' }),
      body: call('whoami'),
    });
    await refused(response, before, 'name_header_mismatch');
  });

  it('headers that agree pass through to the usual answers (ping 200, anonymous whoami 401)', async () => {
    const ping = await fetch(stack.endpoint, {
      method: 'POST',
      headers: headers('tools/call', 'ping'),
      body: call('ping'),
    });
    expect(ping.status).toBe(200);
    expect(await readRpc(ping)).toMatchObject({ result: { structuredContent: { pong: true } } });
    const whoami = await fetch(stack.endpoint, {
      method: 'POST',
      headers: headers('tools/call', 'whoami'),
      body: call('whoami'),
    });
    expect(whoami.status).toBe(401);
  });

  it('the real v2 client pinned to 2026-07-28: a proxy rewriting Mcp-Name gets -32020 and nothing runs', async () => {
    const rewriting: typeof fetch = (input, init) => {
      const h = new Headers(init?.headers);
      if (h.get('mcp-name') === 'whoami') h.set('mcp-name', 'ping');
      return fetch(input, { ...init, headers: h });
    };
    const client = new Client(
      { name: 'wire-v2', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(stack.endpoint), { fetch: rewriting }));
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      expect(await client.callTool({ name: 'ping', arguments: {} })).toMatchObject({
        structuredContent: { pong: true },
      });
      const before = auditRecords(stack.app.output()).length;
      const outcome = await client.callTool({ name: 'whoami', arguments: {} }).then(
        () => 'ran',
        (error: unknown) => (error as { code?: number }).code,
      );
      expect(outcome).toBe(-32020);
      // The client re-lists tools and retries a -32020 call once (its evict-refetch-retry path):
      // two refused requests, one record each, and no tool_call record.
      const records = auditRecords(stack.app.output()).slice(before);
      expect(records).toHaveLength(2);
      for (const record of records)
        expect(record).toMatchObject({ type: 'request_rejected', reason: 'name_header_mismatch', status: 400 });
    } finally {
      await client.close();
    }
  });
});
