import { describe, expect, it } from 'vitest';
import { MCP_HEADERS, readRpc, TEST_REQUEST_STATE_KEY } from '../helpers/app';
import { useEndpoint } from '../helpers/endpoint';
import type { Listening } from '../helpers/net';
import { registry } from '@/tools';

/**
 * Client ID Metadata Document clients: a token whose client_id is an https URL is accepted, and
 * ALLOWED_CLIENT_IDS matches such a URL byte for byte (a variant that a URL parser would call the
 * same is refused), through the real endpoint over loopback HTTP.
 */
const RESOURCE = 'http://127.0.0.1:1/mcp';
const CIMD = 'https://client.example.com/oauth/client-metadata.json';
const endpoint = useEndpoint(
  registry,
  { MCP_RESOURCE_URL: RESOURCE, MCP_REQUEST_STATE_KEY: TEST_REQUEST_STATE_KEY },
  { variants: { allowlisted: { ALLOWED_CLIENT_IDS: `client_dcr,${CIMD}` } } },
);
const audit = endpoint.records;

async function whoami(server: Listening, clientId: string): Promise<Response> {
  const token = await endpoint.issuer.sign({ aud: RESOURCE, sub: 'user_cimd', client_id: clientId, scope: 'openid' });
  return fetch(`${server.url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
    signal: AbortSignal.timeout(10_000),
  });
}

describe('https client_id (Client ID Metadata Document)', () => {
  it('is accepted, and audited as that exact client id', async () => {
    const response = await whoami(endpoint.server, CIMD);
    expect(response.status).toBe(200);
    expect(await readRpc(response)).toHaveProperty('result');
    expect(audit.filter((r) => r.tool === 'whoami').at(-1)).toMatchObject({ client_id: CIMD, outcome: 'ok' });
  });

  it('ALLOWED_CLIENT_IDS lets the listed URL through', async () => {
    expect((await whoami(endpoint.variants.allowlisted, CIMD)).status).toBe(200);
  });

  it.each([
    ['a trailing slash', `${CIMD}/`],
    ['an upper-case host', CIMD.replace('client.example.com', 'Client.Example.com')],
    ['an explicit default port', CIMD.replace('client.example.com', 'client.example.com:443')],
    ['a query', `${CIMD}?x=1`],
    ['a different path case', CIMD.replace('client-metadata', 'Client-Metadata')],
    ['http instead of https', CIMD.replace('https:', 'http:')],
  ])('ALLOWED_CLIENT_IDS refuses the same URL with %s (403, nothing runs)', async (_name, variant) => {
    const before = audit.length;
    const response = await whoami(endpoint.variants.allowlisted, variant);
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: { data: { reason: 'client_not_allowed' } } });
    expect(audit.slice(before)).toMatchObject([{ type: 'request_rejected', reason: 'client_not_allowed' }]);
  });
});
