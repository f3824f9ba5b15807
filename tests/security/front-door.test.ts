import type { EdgeVM } from '@edge-runtime/vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_HEADERS } from '@/lib/http/origin';
import { bundleForEdge } from '../helpers/edge';
import { edgeRouteVm } from '../helpers/edge-route';
import { TEST_REQUEST_STATE_KEY } from '../helpers/app';

/**
 * JSON POSTs to /mcp skip the middleware (its matcher), so app/mcp/route.ts applies the same front
 * door (lib/http/front-door.ts). On the Edge bundle, for every method the route exports, with and
 * without an Origin (allowed, hostile, "null") and with and without a JSON Content-Type, the route's
 * answer equals the middleware's: status, every header, body and audit records. Where the middleware
 * passes a POST on, the route's answer carries every header the middleware would have set.
 */
const RESOURCE = 'http://127.0.0.1:3999/mcp';
const ALLOWED = 'http://localhost:6274';
const ENV = {
  NODE_ENV: 'production',
  AUTHKIT_DOMAIN: 'https://issuer.example.test',
  MCP_RESOURCE_URL: RESOURCE,
  ALLOWED_ORIGINS: ALLOWED,
  // Production refuses to start without a request-state key once a primitive asks (notes_delete).
  MCP_REQUEST_STATE_KEY: TEST_REQUEST_STATE_KEY,
};
let code = '';

beforeAll(async () => {
  code = await bundleForEdge(
    { contents: `export * as middleware from './middleware'; export * as route from './app/mcp/route';` },
    '__edge',
  );
}, 60_000);

type Answer = { status: number; headers: Record<string, string>; text: string; audit: unknown[] };

/** One call in a fresh isolate: its answer and the audit records it wrote, less time and id. */
async function run(env: Record<string, string>, expression: string, init: Record<string, unknown>): Promise<Answer> {
  const lines: string[] = [];
  const vm: EdgeVM = edgeRouteVm(code, env, (line) => lines.push(line));
  vm.context.__init = init;
  const response = (await vm.evaluate(expression)) as Response;
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const text = await response.text();
  const audit = lines
    .filter((line) => line.startsWith('{"audit":'))
    .map((line) => {
      const { time: _t, requestId: _r, ...rest } = (JSON.parse(line) as { audit: Record<string, unknown> }).audit;
      return rest;
    });
  return { status: response.status, headers, text, audit };
}
const viaMiddleware = (env: Record<string, string>, init: Record<string, unknown>) =>
  run(env, `__edge.middleware.middleware(new Request('${RESOURCE}', __init), { waitUntil: () => {} })`, init);
const viaRoute = (env: Record<string, string>, method: string, init: Record<string, unknown>) =>
  run(env, `__edge.route.${method}(new Request('${RESOURCE}', __init))`, init);

const ORIGINS: Record<string, Record<string, string>> = {
  'no Origin': {},
  'allowed Origin': { origin: ALLOWED },
  'hostile Origin': { origin: 'https://evil.example' },
  'Origin "null"': { origin: 'null' },
};
const TYPES: Record<string, Record<string, string>> = {
  'JSON Content-Type': { 'content-type': 'application/json' },
  'no Content-Type': {},
};
const cases = (methods: string[]) =>
  methods.flatMap((method) =>
    Object.entries(ORIGINS).flatMap(([originName, origin]) =>
      Object.entries(TYPES).map(([typeName, type]) => [method, originName, typeName, { ...origin, ...type }] as const),
    ),
  );
const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'ping', arguments: {} } });

describe('the route answers as the middleware does', () => {
  it.each(cases(['GET', 'DELETE', 'PUT', 'PATCH', 'OPTIONS']))(
    '%s, %s, %s: same status, headers, body and audit',
    async (method, _origin, _type, headers) => {
      const init = { method, headers };
      const [middleware, route] = await Promise.all([viaMiddleware(ENV, init), viaRoute(ENV, method, init)]);
      expect(middleware.headers['x-middleware-next'], 'the middleware answered itself').toBeUndefined();
      expect(route).toEqual(middleware);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(route.headers[name], name).toBe(value);
      expect(route.headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains');
      if (headers.origin && headers.origin !== ALLOWED) {
        expect(route.status).toBe(403);
        expect(route.audit).toEqual([
          {
            type: 'request_rejected',
            ...(method === 'OPTIONS' ? { method: 'preflight' } : {}),
            decision: 'reject',
            reason: 'origin_not_allowed',
            status: 403,
            durationMs: 0,
          },
        ]);
      } else {
        expect(route.status).toBe(method === 'OPTIONS' ? 204 : 405);
        expect(route.audit).toEqual([]);
      }
    },
  );

  it.each(cases(['POST']))('%s, %s, %s: the route refuses what the middleware refuses', async (_m, _o, _t, headers) => {
    const init = {
      method: 'POST',
      headers: { accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', ...headers },
      body: ping,
    };
    const [middleware, route] = await Promise.all([viaMiddleware(ENV, init), viaRoute(ENV, 'POST', init)]);
    if (middleware.headers['x-middleware-next'] === undefined) {
      // Refused at the door: the route answers the same, audited the same, once.
      expect(middleware.status).toBe(403);
      expect(route).toEqual(middleware);
      expect(route.audit).toHaveLength(1);
      return;
    }
    // Passed on: the endpoint answers, with every header the middleware would have added.
    const { 'x-middleware-next': _next, ...added } = middleware.headers;
    expect(Object.keys(added).length).toBeGreaterThan(Object.keys(SECURITY_HEADERS).length);
    for (const [name, value] of Object.entries(added)) expect(route.headers[name], name).toBe(value);
    expect(route.status).toBe(headers['content-type'] ? 200 : 415);
  });

  it('a configuration that does not load: both answer the fixed 500 with the security headers', async () => {
    const broken = { ...ENV, AUTHKIT_DOMAIN: '' };
    for (const method of ['POST', 'GET', 'OPTIONS']) {
      const init = {
        method,
        headers: { 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: ping } : {}),
      };
      const [middleware, route] = await Promise.all([viaMiddleware(broken, init), viaRoute(broken, method, init)]);
      expect(route).toEqual(middleware);
      expect(route.status).toBe(500);
      expect(JSON.parse(route.text)).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32603, message: 'Server misconfigured' },
      });
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(route.headers[name], name).toBe(value);
      expect(route.headers['strict-transport-security']).toBeUndefined();
    }
  });

  it('HSTS only in production', async () => {
    const dev = { ...ENV, NODE_ENV: 'development' };
    const init = { method: 'GET', headers: {} };
    const [middleware, route] = await Promise.all([viaMiddleware(dev, init), viaRoute(dev, 'GET', init)]);
    expect(route).toEqual(middleware);
    expect(route.status).toBe(405);
    expect(route.headers['strict-transport-security']).toBeUndefined();
  });
});
