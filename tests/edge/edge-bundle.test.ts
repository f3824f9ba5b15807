import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleMcpRouteForEdge, edgeRouteVm } from '../helpers/edge-route';
import { auditRecords, TEST_REQUEST_STATE_KEY } from '../helpers/app';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';

/**
 * Bundles app/mcp/route.ts the way an Edge bundler resolves it (edge-light/worker/browser
 * conditions), fails on any Node built-in, then runs the bundle inside @edge-runtime/vm, where
 * `require` and Node globals do not exist, and serves real requests through it.
 */

let code = '';
const reached: string[] = [];
let issuer: TestIssuer;

beforeAll(async () => {
  issuer = await startTestIssuer();
  code = await bundleMcpRouteForEdge(reached);
}, 60_000);
afterAll(async () => issuer?.close());

const post = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2025-11-25',
    ...headers,
  },
  body: JSON.stringify(body),
});

describe('the /mcp route on the Edge runtime', () => {
  it('reaches no Node built-in when bundled for the Edge', () => {
    expect(reached).toEqual([]);
    expect(code).not.toMatch(/\brequire\(["']node:/);
  });

  it('serves ping, challenges anonymous whoami and verifies a token inside @edge-runtime/vm', async () => {
    const resource = 'http://127.0.0.1:3999/mcp';
    // The Edge runtime exposes environment variables as process.env and nothing else of `process`.
    // The isolate's audit lines (console.log) come here, to be checked, instead of the test output.
    const logged: string[] = [];
    const vm = edgeRouteVm(
      code,
      {
        NODE_ENV: 'production',
        AUTHKIT_DOMAIN: issuer.issuer,
        MCP_RESOURCE_URL: resource,
        MCP_REQUEST_STATE_KEY: TEST_REQUEST_STATE_KEY,
      },
      (line) => logged.push(line),
    );
    expect(vm.evaluate('typeof require')).toBe('undefined');

    const run = async (init: ReturnType<typeof post>) => {
      vm.context.__init = init;
      const response = (await vm.evaluate(`__route.POST(new Request('${resource}', __init))`)) as Response;
      return { status: response.status, headers: response.headers, text: await response.text() };
    };

    const ping = await run(
      post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'ping', arguments: { message: 'edge' } } }),
    );
    expect(ping.status).toBe(200);
    expect(ping.text).toContain('"pong":true');

    const anonymous = await run(
      post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
    );
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe(
      'Bearer resource_metadata="http://127.0.0.1:3999/.well-known/oauth-protected-resource/mcp"',
    );

    const token = await issuer.sign({
      aud: resource,
      sub: 'user_edge',
      org_id: 'org_acme',
      client_id: 'c1',
      scope: 'openid',
    });
    const whoami = await run(
      post(
        { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'whoami', arguments: {} } },
        { authorization: `Bearer ${token}` },
      ),
    );
    expect(whoami.status).toBe(200);
    expect(whoami.text).toContain('user_edge');

    // Audited inside the isolate, one record per call.
    expect(auditRecords(logged.join('\n'))).toEqual([
      expect.objectContaining({ tool: 'ping', decision: 'allow', outcome: 'ok' }),
      expect.objectContaining({ tool: 'whoami', decision: 'challenge', status: 401, outcome: 'not_run' }),
      expect.objectContaining({ tool: 'whoami', decision: 'allow', sub: 'user_edge', outcome: 'ok' }),
    ]);
  });
});
