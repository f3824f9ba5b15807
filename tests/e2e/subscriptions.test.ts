import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { auditRecords, MCP_HEADERS, readRpc, rpc, modernMeta, MODERN_HEADERS } from '../helpers/app';
import { useAppWithIssuer } from '../helpers/app-with-issuer';

/**
 * Subscriptions are refused, honestly, on Edge: `subscriptions/listen` answers -32601 at once on
 * both wires, holds no stream, counts against no limit, and no capability advertises listChanged.
 */
const stack = useAppWithIssuer();

const META = modernMeta('listen-test');
const MODERN = MODERN_HEADERS;
const modern = (method: string, params: Record<string, unknown> = {}, id = 1) =>
  JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: META } });
const listen = (id = 1) => modern('subscriptions/listen', { notifications: { toolsListChanged: true } }, id);
const token = () =>
  stack.issuer.sign({
    aud: stack.endpoint,
    sub: 'user_bob',
    org_id: 'org_acme',
    client_id: 'client_1',
    scope: 'openid',
  });

/** Posts and reads the whole body within `ms`: a held-open stream fails this. */
async function postComplete(body: string, headers: Record<string, string>, ms = 5_000) {
  const response = await fetch(stack.endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(ms) });
  return { response, text: await response.text() };
}

describe('subscriptions/listen on Edge', () => {
  it('anonymous listen on 2026-07-28 is answered at once with -32601, no stream, one audit record', async () => {
    const before = auditRecords(stack.app.output()).length;
    const { response, text } = await postComplete(listen(), { ...MODERN, 'mcp-method': 'subscriptions/listen' });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(JSON.parse(text)).toMatchObject({
      id: 1,
      error: { code: -32601, data: { reason: 'subscriptions_unsupported' } },
    });
    const records = auditRecords(stack.app.output()).slice(before);
    expect(records).toEqual([
      expect.objectContaining({
        type: 'request_rejected',
        method: 'subscriptions/listen',
        reason: 'subscriptions_unsupported',
      }),
    ]);
  });

  it('signed-in listen is refused the same way (nothing could deliver to it either)', async () => {
    const { response, text } = await postComplete(listen(), {
      ...MODERN,
      'mcp-method': 'subscriptions/listen',
      authorization: `Bearer ${await token()}`,
    });
    expect(response.status).toBe(404);
    expect(JSON.parse(text)).toMatchObject({ error: { code: -32601 } });
  });

  it('a bad token on listen is still a 401, never downgraded', async () => {
    const { response } = await postComplete(listen(), {
      ...MODERN,
      'mcp-method': 'subscriptions/listen',
      authorization: 'Bearer nope',
    });
    expect(response.status).toBe(401);
  });

  it('1,100 anonymous listens (past the SDK default limit of 1,024) leave signed-in callers unaffected', async () => {
    const total = 1_100;
    const concurrency = 50;
    let next = 0;
    const statuses: number[] = [];
    const worker = async () => {
      while (next < total) {
        const id = next++;
        const { response } = await postComplete(
          listen(id),
          { ...MODERN, 'mcp-method': 'subscriptions/listen' },
          15_000,
        );
        statuses.push(response.status);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    expect(statuses).toHaveLength(total);
    expect(new Set(statuses)).toEqual(new Set([404]));
    // A signed-in caller still calls tools, and its own listen gets the same clear answer, not "limit reached".
    const bearer = await token();
    const call = await postComplete(modern('tools/call', { name: 'whoami', arguments: {} }), {
      ...MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': 'whoami',
      authorization: `Bearer ${bearer}`,
    });
    expect(call.response.status).toBe(200);
    expect(call.text).toContain('user_bob');
    const own = await postComplete(listen(), {
      ...MODERN,
      'mcp-method': 'subscriptions/listen',
      authorization: `Bearer ${bearer}`,
    });
    expect(own.text).not.toMatch(/limit/i);
  }, 120_000);

  it("clients that hang up on listen raise nothing but Next.js's own connection-reset log, and serving goes on", async () => {
    // Next.js logs `uncaughtException: Error: aborted` (ECONNRESET) for ANY POST to an Edge route
    // whose client resets the connection, tools/list included (see client-abort.test.ts and the
    // README). That log is not from this code; anything else (the SDK's stream teardown) would be.
    const uncaught = () =>
      stack.app
        .output()
        .split('\n')
        .filter((line) => /uncaught|unhandled/i.test(line));
    const before = uncaught().length;
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const controller = new AbortController();
        const pending = fetch(stack.endpoint, {
          method: 'POST',
          headers: { ...MODERN, 'mcp-method': 'subscriptions/listen' },
          body: listen(i),
          signal: controller.signal,
        });
        if (i % 2 === 0) setTimeout(() => controller.abort(), i % 5);
        const response = await pending.catch(() => undefined);
        controller.abort();
        await response?.body?.cancel().catch(() => undefined);
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ping = await postComplete(rpc('tools/call', { name: 'ping', arguments: {} }), MCP_HEADERS);
    expect(ping.response.status).toBe(200);
    for (const line of uncaught().slice(before)) expect(line.trim()).toBe('⨯ uncaughtException:  Error: aborted');
  });

  it('the 2025-11-25 wire answers listen in-band with -32601 too', async () => {
    const response = await fetch(stack.endpoint, {
      method: 'POST',
      headers: MCP_HEADERS,
      body: rpc('subscriptions/listen', {}),
    });
    expect(response.status).toBe(200);
    expect(await readRpc(response)).toMatchObject({ error: { code: -32601 } });
  });
});

describe('listChanged is advertised for nothing', () => {
  it('server/discover (2026-07-28) and initialize (2025-11-25) both say listChanged false', async () => {
    const discover = await fetch(stack.endpoint, {
      method: 'POST',
      headers: { ...MODERN, 'mcp-method': 'server/discover' },
      body: modern('server/discover'),
    });
    const discovered = (await readRpc(discover)) as {
      result: { capabilities: Record<string, { listChanged?: boolean }> };
    };
    const init = await fetch(stack.endpoint, {
      method: 'POST',
      headers: MCP_HEADERS,
      body: rpc('initialize', {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'x', version: '1' },
      }),
    });
    const initialized = (await readRpc(init)) as {
      result: { capabilities: Record<string, { listChanged?: boolean }> };
    };
    for (const capabilities of [discovered.result.capabilities, initialized.result.capabilities]) {
      expect(capabilities.tools).toBeDefined();
      for (const value of Object.values(capabilities)) expect(value?.listChanged).not.toBe(true);
    }
  });

  it('the real v2 client in auto opens no subscription stream', async () => {
    const before = auditRecords(stack.app.output()).length;
    const client = new Client({ name: 'auto', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(stack.endpoint)));
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      expect(client.getServerCapabilities()?.tools?.listChanged).not.toBe(true);
    } finally {
      await client.close();
    }
    expect(
      auditRecords(stack.app.output())
        .slice(before)
        .filter((r) => r.method === 'subscriptions/listen'),
    ).toHaveLength(0);
  });
});
