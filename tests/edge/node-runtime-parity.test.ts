import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resetConfigForTests } from '@/lib/config';
import { bundleMcpRouteForEdge, callInEdgeVm, edgeRouteVm } from '../helpers/edge-route';
import { TEST_REQUEST_STATE_KEY } from '../helpers/app';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';
import { registry } from '@/tools';

/**
 * The README says moving /mcp to the Node.js runtime is one line (`runtime = 'nodejs'`). This proves
 * lib/ answers the same there: the route's own handlers run in plain Node (this process) and, bundled
 * for the Edge, inside @edge-runtime/vm, against the same issuer, tokens and requests; status, every
 * response header, the JSON body and the audit records (less time, id and duration) must be equal. Outside Next, `after` has no request scope, so both
 * sides get the same stand-in (tests/edge/next-server-shim.ts).
 */
vi.mock('next/server', () => import('./next-server-shim'));

const RESOURCE = 'http://127.0.0.1:3999/mcp';

let issuer: TestIssuer;
let edgeCode = '';
let nodeRoute: typeof import('@/app/mcp/route');
// Next's types make NODE_ENV read-only; this file sets it for its own process on purpose.
const env = process.env as Record<string, string | undefined>;
const savedEnv = { ...env };

beforeAll(async () => {
  issuer = await startTestIssuer();
  edgeCode = await bundleMcpRouteForEdge();
  // The same environment the Edge isolate gets; getConfig reads process.env on the first request.
  Object.assign(env, {
    NODE_ENV: 'production',
    AUTHKIT_DOMAIN: issuer.issuer,
    MCP_RESOURCE_URL: RESOURCE,
    MCP_REQUEST_STATE_KEY: TEST_REQUEST_STATE_KEY,
  });
  resetConfigForTests();
  nodeRoute = await import('@/app/mcp/route');
}, 60_000);

afterAll(async () => {
  for (const name of ['NODE_ENV', 'AUTHKIT_DOMAIN', 'MCP_RESOURCE_URL', 'MCP_REQUEST_STATE_KEY'] as const) {
    if (savedEnv[name] === undefined) delete env[name];
    else env[name] = savedEnv[name];
  }
  resetConfigForTests();
  await issuer?.close();
});

type Init = { method: string; headers: Record<string, string>; body?: string };
type Answer = { status: number; headers: Record<string, string>; body: unknown; audit: unknown[] };

const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
};

function post(message: unknown, headers: Record<string, string> = {}): Init {
  return { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: JSON.stringify(message) };
}
const call = (id: number, name: string, args: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The audit records among logged lines, without what differs per request (time, id, duration). */
function auditOf(lines: string[]): unknown[] {
  return lines
    .filter((line) => line.startsWith('{"audit":'))
    .map((line) => {
      const {
        time: _t,
        requestId: _r,
        durationMs: _d,
        ...rest
      } = (JSON.parse(line) as { audit: Record<string, unknown> }).audit;
      return rest;
    });
}

/** Status, all headers, the body as JSON (the last `data:` line of an SSE answer) and the audit records. */
async function read(response: Response, logged: string[]): Promise<Answer> {
  const text = await response.text();
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const isSse = (headers['content-type'] ?? '').includes('text/event-stream');
  const json = isSse
    ? text
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .pop()
    : text;
  return {
    status: response.status,
    headers,
    body: json ? (JSON.parse(json) as unknown) : null,
    audit: auditOf(logged),
  };
}

async function onBoth(method: 'POST' | 'GET' | 'DELETE', init: Init): Promise<{ node: Answer; edge: Answer }> {
  const nodeLines: string[] = [];
  const spy = vi
    .spyOn(console, 'log')
    .mockImplementation((...args: unknown[]) => void nodeLines.push(args.map(String).join(' ')));
  let node: Answer;
  try {
    const response = await nodeRoute[method](new Request(RESOURCE, init));
    node = await read(response, nodeLines);
  } finally {
    spy.mockRestore();
  }
  // A fresh isolate per request, as the Edge may give each request; Node keeps its module state.
  const edgeLines: string[] = [];
  const vm = edgeRouteVm(
    edgeCode,
    {
      NODE_ENV: 'production',
      AUTHKIT_DOMAIN: issuer.issuer,
      MCP_RESOURCE_URL: RESOURCE,
      MCP_REQUEST_STATE_KEY: TEST_REQUEST_STATE_KEY,
    },
    (line) => edgeLines.push(line),
  );
  const edge = await read(await callInEdgeVm(vm, method, RESOURCE, init), edgeLines);
  return { node, edge };
}

const scoped = registry.tools.find(
  (tool) =>
    typeof tool.access === 'object' &&
    (tool.access.scopes?.length ?? 0) > 0 &&
    !tool.access.roles &&
    !tool.access.permissions,
);

describe('the /mcp route on the Node.js runtime answers as on the Edge', () => {
  it('for anonymous, signed-in, refused and malformed requests', { timeout: 30_000 }, async () => {
    const token = await issuer.sign({
      aud: RESOURCE,
      sub: 'user_parity',
      org_id: 'org_acme',
      client_id: 'client_parity',
      scope: 'openid',
    });
    const otherKey = (await generateKeyPair('RS256')).privateKey;
    const forged = await new SignJWT({
      iss: issuer.issuer,
      aud: RESOURCE,
      sub: 'user_parity',
      exp: Math.floor(Date.now() / 1000) + 300,
      iat: Math.floor(Date.now() / 1000),
    })
      .setProtectedHeader({ alg: 'RS256', kid: issuer.kid })
      .sign(otherKey);
    const wrongAudience = await issuer.sign({ aud: 'https://elsewhere.example/mcp', sub: 'user_parity' });
    const expired = await issuer.sign({ aud: RESOURCE, sub: 'user_parity' }, { expiresIn: -600 });

    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'parity', version: '1.0.0' } },
    };
    // [label, handler, request, the status both must answer]
    type Case = [string, 'POST' | 'GET' | 'DELETE', Init, number];
    const cases: Case[] = [
      ['initialize, anonymous', 'POST', post(initialize), 200],
      ['tools/list, anonymous', 'POST', post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), 200],
      ['public tool, anonymous', 'POST', post(call(3, 'ping', { message: 'parity' })), 200],
      ['private tool, anonymous: 401 challenge', 'POST', post(call(4, 'whoami')), 401],
      ['private tool, valid token', 'POST', post(call(5, 'whoami'), bearer(token)), 200],
      ['tools/list, valid token', 'POST', post({ jsonrpc: '2.0', id: 6, method: 'tools/list' }, bearer(token)), 200],
      // Whatever tools/ holds: a tool that needs a scope the token lacks, when there is one.
      ...(scoped
        ? [
            [
              `missing scope: 403 insufficient_scope (${scoped.name})`,
              'POST',
              post(call(7, scoped.name), bearer(token)),
              403,
            ] satisfies Case,
          ]
        : []),
      ['token signed by another key', 'POST', post(call(8, 'ping', { message: 'x' }), bearer(forged)), 401],
      ['token for another audience', 'POST', post(call(9, 'whoami'), bearer(wrongAudience)), 401],
      ['expired token', 'POST', post(call(10, 'whoami'), bearer(expired)), 401],
      [
        'not a Bearer header',
        'POST',
        post(call(11, 'ping', { message: 'x' }), { authorization: 'Basic dXNlcjpwYXNz' }),
        400,
      ],
      ['unparsable body', 'POST', { method: 'POST', headers: MCP_HEADERS, body: '{"jsonrpc":' }, 400],
      ['GET', 'GET', { method: 'GET', headers: { accept: 'text/event-stream' } }, 405],
    ];

    for (const [label, method, init, status] of cases) {
      const { node, edge } = await onBoth(method, init);
      expect(edge.status, `${label} (edge)`).toBe(status);
      expect(node, label).toEqual(edge);
    }
  });

  it('answers with the content the requests ask for, not just equal errors', async () => {
    const token = await issuer.sign({
      aud: RESOURCE,
      sub: 'user_parity',
      org_id: 'org_acme',
      client_id: 'client_parity',
      scope: 'openid',
    });
    const { node } = await onBoth('POST', post(call(20, 'whoami'), bearer(token)));
    expect(JSON.stringify(node.body)).toContain('user_parity');
    expect(node.audit).toEqual([
      expect.objectContaining({ tool: 'whoami', decision: 'allow', sub: 'user_parity', outcome: 'ok' }),
    ]);
    const challenge = await onBoth('POST', post(call(21, 'whoami')));
    expect(challenge.node.headers['www-authenticate']).toBe(
      'Bearer resource_metadata="http://127.0.0.1:3999/.well-known/oauth-protected-resource/mcp"',
    );
  });
});
