import { describe, expect, it } from 'vitest';
import { MCP_HEADERS, readRpc, rpc, modernMeta, MODERN_HEADERS } from '../helpers/app';
import { useAppWithIssuer } from '../helpers/app-with-issuer';

/**
 * Cache hints against the built app: caller-filtered lists are private with the configured TTL,
 * server/discover is public only because it is the same for every caller (checked here), and
 * every /mcp answer says Cache-Control no-store.
 */
const stack = useAppWithIssuer({ MCP_LIST_TTL_MS: '12345' });

const META = modernMeta('cache-test');
const modernBody = (method: string, params: Record<string, unknown> = {}) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: META } });
const modernHeaders = (method: string, extra: Record<string, string> = {}) => ({
  ...MODERN_HEADERS,
  'mcp-method': method,
  ...extra,
});
const bearer = async (sub: string, scope: string) =>
  `Bearer ${await stack.issuer.sign({ aud: stack.endpoint, sub, org_id: 'org_acme', client_id: 'client_1', scope })}`;

type Listed = { result: { tools: Array<{ name: string }>; ttlMs: number; cacheScope: string } };

describe('cache hints on 2026-07-28', () => {
  it('tools/list is private with the configured TTL, for every caller, anonymous included', async () => {
    const callers: Array<Record<string, string>> = [
      {},
      { authorization: await bearer('user_a', 'openid') },
      { authorization: await bearer('user_b', 'openid notes:read notes:write') },
    ];
    for (const auth of callers) {
      const response = await fetch(stack.endpoint, {
        method: 'POST',
        headers: modernHeaders('tools/list', auth),
        body: modernBody('tools/list'),
      });
      expect(response.status).toBe(200);
      const listed = (await readRpc(response)) as Listed;
      expect(listed.result.tools.length).toBeGreaterThan(0);
      expect(listed.result).toMatchObject({ ttlMs: 12345, cacheScope: 'private' });
      expect(response.headers.get('cache-control')).toMatch(/\bno-store\b/);
    }
  });

  it('server/discover is public only because it is byte-identical for anonymous and signed-in callers', async () => {
    const bodies: string[] = [];
    const callers: Array<Record<string, string>> = [
      {},
      { authorization: await bearer('user_a', 'openid') },
      { authorization: await bearer('user_b', 'openid notes:write') },
    ];
    for (const auth of callers) {
      const response = await fetch(stack.endpoint, {
        method: 'POST',
        headers: modernHeaders('server/discover', auth),
        body: modernBody('server/discover'),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toMatch(/\bno-store\b/);
      const { id: _id, ...rest } = (await readRpc(response)) as Record<string, unknown>;
      bodies.push(JSON.stringify(rest));
    }
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0] ?? '{}')).toMatchObject({ result: { cacheScope: 'public' } });
  });
});

describe('Cache-Control: no-store on every /mcp answer', () => {
  const cases: Array<[string, () => Promise<Response>]> = [
    [
      '2026 tools/call ping (200)',
      () =>
        fetch(stack.endpoint, {
          method: 'POST',
          headers: modernHeaders('tools/call', { 'mcp-name': 'ping' }),
          body: modernBody('tools/call', { name: 'ping', arguments: {} }),
        }),
    ],
    [
      '2025 tools/list (200)',
      () => fetch(stack.endpoint, { method: 'POST', headers: MCP_HEADERS, body: rpc('tools/list') }),
    ],
    [
      '2025 initialize (200)',
      () =>
        fetch(stack.endpoint, {
          method: 'POST',
          headers: MCP_HEADERS,
          body: rpc('initialize', {
            protocolVersion: '2025-11-25',
            capabilities: {},
            clientInfo: { name: 'x', version: '1' },
          }),
        }),
    ],
    [
      'anonymous whoami (401)',
      () =>
        fetch(stack.endpoint, {
          method: 'POST',
          headers: MCP_HEADERS,
          body: rpc('tools/call', { name: 'whoami', arguments: {} }),
        }),
    ],
    [
      'header mismatch (400)',
      () =>
        fetch(stack.endpoint, {
          method: 'POST',
          headers: modernHeaders('tools/list'),
          body: modernBody('tools/call', { name: 'ping' }),
        }),
    ],
    ['SDK parse error', () => fetch(stack.endpoint, { method: 'POST', headers: MCP_HEADERS, body: '{not json' })],
    [
      'SDK unknown method on 2026 (404)',
      () =>
        fetch(stack.endpoint, { method: 'POST', headers: modernHeaders('nope/nope'), body: modernBody('nope/nope') }),
    ],
    [
      'wrong Accept (406)',
      () =>
        fetch(stack.endpoint, {
          method: 'POST',
          headers: { ...MCP_HEADERS, accept: 'text/html' },
          body: rpc('tools/list'),
        }),
    ],
    ['GET (405)', () => fetch(stack.endpoint)],
  ];
  it.each(cases)('%s', async (_name, send) => {
    const response = await send();
    expect(response.headers.get('cache-control')).toMatch(/\bno-store\b/);
    expect(response.headers.get('cache-control')).not.toMatch(/\bpublic\b/);
    await response.body?.cancel();
  });
});
