import { generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { MCP_HEADERS, readRpc, rpc, startApp } from '../helpers/app';
import { useAppWithIssuer } from '../helpers/app-with-issuer';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';
import { freePort } from '../helpers/net';
import { registry } from '@/tools';

/**
 * The DESIGN.md status table, asserted against the built app under `next start` (Edge runtime),
 * header text included.
 */
const stack = useAppWithIssuer({ ALLOWED_ORIGINS: 'http://localhost:6274' });
let prm: string;
let resource: string;

beforeAll(() => {
  resource = stack.endpoint;
  prm = `${stack.app.url}/.well-known/oauth-protected-resource/mcp`;
});

const post = (body: string, headers: Record<string, string> = {}, path = '/mcp') =>
  fetch(`${stack.app.url}${path}`, { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body });
const call = (name: string, args: Record<string, unknown> = {}) => rpc('tools/call', { name, arguments: args });
const token = (extra: Record<string, unknown> = {}, options?: Parameters<TestIssuer['sign']>[1]) =>
  stack.issuer.sign(
    { aud: resource, sub: 'user_alice', org_id: 'org_acme', client_id: 'client_1', scope: 'openid', ...extra },
    options,
  );

async function expectJsonError(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  const body = await response.text();
  expect(() => JSON.parse(body)).not.toThrow();
  expect(body).not.toMatch(/at .*\(|node_modules|\/work\/|\.ts:\d+/); // no stack, no internal path
  return JSON.parse(body) as { error?: { message?: string } };
}

describe('200: public calls and allowed private calls', () => {
  it('answers ping anonymously', async () => {
    const response = await post(call('ping', { message: 'hello' }));
    expect(response.status).toBe(200);
    expect(await readRpc(response)).toMatchObject({ result: { structuredContent: { pong: true, message: 'hello' } } });
  });

  it('answers whoami with a valid token, without the token in the result', async () => {
    const bearer = await token({ scope: 'openid' });
    const response = await post(call('whoami'), { authorization: `Bearer ${bearer}` });
    expect(response.status).toBe(200);
    const text = JSON.stringify(await readRpc(response));
    expect(text).toContain('user_alice');
    expect(text).toContain('org_acme');
    expect(text).toContain('client_1');
    expect(text).not.toContain(bearer);
  });
});

describe('401 challenges', () => {
  it('anonymous call to a signed-in tool starts OAuth', async () => {
    const response = await post(call('whoami'));
    expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${prm}"`);
    const body = await expectJsonError(response, 401);
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 1, error: { code: -32001 } });
  });

  const invalid: Array<[string, () => Promise<string>, string]> = [
    ['expired', () => token({}, { expiresIn: -300 }), 'The access token expired'],
    [
      'wrong issuer',
      () => token({ iss: 'https://evil.authkit.app' }),
      'The access token was not issued by the trusted issuer',
    ],
    [
      'wrong audience',
      () => token({ aud: 'http://127.0.0.1:1/mcp' }),
      'The access token was not issued for this resource',
    ],
    [
      'wrong algorithm',
      async () => (await token()).replace(/^[^.]+/, Buffer.from('{"alg":"none"}').toString('base64url')),
      'The access token uses an algorithm that is not allowed',
    ],
    [
      'unknown key',
      async () => token({}, { key: (await generateKeyPair('RS256')).privateKey, kid: 'nope' }),
      'The access token was signed with an unknown key',
    ],
    ['not a JWT', async () => 'garbage', 'The access token is malformed'],
  ];
  it.each(invalid)('%s token -> invalid_token', async (_name, make, description) => {
    const response = await post(call('whoami'), { authorization: `Bearer ${await make()}` });
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", error_description="${description}", resource_metadata="${prm}"`,
    );
    await expectJsonError(response, 401);
  });

  it('an invalid token on a public tool is still 401, never anonymous', async () => {
    const response = await post(call('ping'), { authorization: `Bearer ${await token({}, { expiresIn: -300 })}` });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('forged Host / X-Forwarded-Host do not change resource_metadata', async () => {
    const response = await post(call('whoami'), {
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
      forwarded: 'host=evil.example',
    });
    expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${prm}"`);
  });
});

describe('400, 403, 405, 413', () => {
  const malformed: Array<[string, string]> = [
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['empty bearer', 'Bearer '],
    ['two tokens', 'Bearer aaa.bbb.ccc, Bearer ddd.eee.fff'],
    ['a token with spaces', 'Bearer aaa bbb'],
  ];
  it.each(malformed)('malformed Authorization (%s) -> 400 invalid_request', async (_name, value) => {
    const response = await post(call('ping'), { authorization: value });
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_request"');
    await expectJsonError(response, 400);
  });

  it('a token in the query string -> 400 invalid_request', async () => {
    const response = await post(call('ping'), {}, `/mcp?access_token=${await token()}`);
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_request"');
    await expectJsonError(response, 400);
  });

  it('an Origin that is not allowed -> 403 JSON; "null" too', async () => {
    for (const origin of ['https://evil.example', 'null', 'http://localhost:6274.evil.example']) {
      const response = await post(call('ping'), { origin });
      const body = await expectJsonError(response, 403);
      expect(body.error?.message).toBe('Origin not allowed');
    }
  });

  it('an allowed Origin gets CORS headers and a preflight answer', async () => {
    const preflight = await fetch(`${stack.app.url}/mcp`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:6274', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:6274');
    expect(preflight.headers.get('access-control-expose-headers')).toContain('www-authenticate');
    const response = await post(call('ping'), { origin: 'http://localhost:6274' });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:6274');
  });

  it('a body over 1 MiB -> 413 before anything is parsed', async () => {
    const response = await post(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(1_100_000) } }),
    );
    await expectJsonError(response, 413);
  });

  it('an unsupported MCP-Protocol-Version -> 400 JSON', async () => {
    const response = await post(rpc('tools/list'), { 'mcp-protocol-version': '1999-01-01' });
    await expectJsonError(response, 400);
  });

  it('GET and DELETE -> 405 with Allow', async () => {
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(`${stack.app.url}/mcp`, { method, headers: { accept: 'text/event-stream' } });
      expect(response.headers.get('allow')).toBe('POST');
      await expectJsonError(response, 405);
    }
  });

  it('sends security headers', async () => {
    const response = await post(call('ping'));
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });
});

describe('discovery metadata', () => {
  it('serves RFC 9728 metadata at the root and path-inserted URLs, CORS-readable', async () => {
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
      const response = await fetch(`${stack.app.url}${path}`, {
        headers: { origin: 'https://any.example', 'x-forwarded-host': 'evil.example' },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(await response.json()).toEqual({
        resource,
        authorization_servers: [stack.issuer.issuer],
        // Every scope a primitive requires or the hierarchy names (tools/scopes.ts: SEP-2350).
        scopes_supported: registry.scopes(),
        bearer_methods_supported: ['header'],
        resource_name: 'Edge MCP server (AuthKit)',
      });
    }
  });

  it("mirrors the issuer's authorization server metadata", async () => {
    const response = await fetch(`${stack.app.url}/.well-known/oauth-authorization-server`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      issuer: stack.issuer.issuer,
      registration_endpoint: `${stack.issuer.issuer}/oauth2/register`,
    });
  });
});

describe('503 when the JWKS is unavailable', () => {
  it('fails closed with Retry-After and runs nothing, then recovers', async () => {
    const down = await startTestIssuer();
    down.setMode('down');
    const cold = await startApp({ AUTHKIT_DOMAIN: down.issuer });
    try {
      const bearer = await down.sign({ aud: `${cold.url}/mcp`, sub: 'user_alice' });
      const response = await fetch(`${cold.url}/mcp`, {
        method: 'POST',
        headers: { ...MCP_HEADERS, authorization: `Bearer ${bearer}` },
        body: call('ping'),
      });
      expect(response.headers.get('retry-after')).toBe('10');
      await expectJsonError(response, 503);
      expect(cold.output()).not.toMatch(/"decision":"allow"/);

      down.setMode('up');
      const recovered = await fetch(`${cold.url}/mcp`, {
        method: 'POST',
        headers: { ...MCP_HEADERS, authorization: `Bearer ${bearer}` },
        body: call('ping'),
      });
      expect(recovered.status).toBe(200);
    } finally {
      await cold.stop();
      await down.close();
    }
  });
});

describe('503 when nothing answers at the issuer', () => {
  it('the JWKS and the metadata mirror both fail closed with Retry-After', async () => {
    const gone = await startTestIssuer();
    const token = await gone.sign({ aud: 'x', sub: 'user_alice' }); // signed before its issuer goes away
    await gone.close();
    const dead = `http://127.0.0.1:${await freePort()}`;
    const app = await startApp({ AUTHKIT_DOMAIN: dead });
    try {
      const mirror = await fetch(`${app.url}/.well-known/oauth-authorization-server`);
      expect(mirror.headers.get('retry-after')).toBe('10');
      expect(await expectJsonError(mirror, 503)).toEqual({
        error: 'temporarily_unavailable',
        error_description: 'The authorization server metadata could not be fetched',
      });
      const call = await fetch(`${app.url}/mcp`, {
        method: 'POST',
        headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
        body: rpc('tools/call', { name: 'ping', arguments: {} }),
      });
      expect(call.headers.get('retry-after')).toBe('10');
      await expectJsonError(call, 503);
    } finally {
      await app.stop();
    }
  });
});

describe('401 on every request when MCP_AUTH_REQUIRED=true', () => {
  it('challenges an anonymous call to a public tool, and serves it with a token', async () => {
    const app = await startApp({ AUTHKIT_DOMAIN: stack.issuer.issuer, MCP_AUTH_REQUIRED: 'true' });
    try {
      const anonymous = await fetch(`${app.url}/mcp`, { method: 'POST', headers: MCP_HEADERS, body: call('ping') });
      expect(anonymous.headers.get('www-authenticate')).toBe(
        `Bearer resource_metadata="${app.url}/.well-known/oauth-protected-resource/mcp"`,
      );
      await expectJsonError(anonymous, 401);
      const token = await stack.issuer.sign({ aud: `${app.url}/mcp`, sub: 'user_alice' });
      const signedIn = await fetch(`${app.url}/mcp`, {
        method: 'POST',
        headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
        body: call('ping'),
      });
      expect(signedIn.status).toBe(200);
    } finally {
      await app.stop();
    }
  });
});

describe('the landing page in production', () => {
  it('publishes no access map without MCP_PUBLIC_ACCESS_MAP: hidden primitives keep their names', async () => {
    const response = await fetch(`${stack.app.url}/`, { signal: AbortSignal.timeout(10_000) });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('id="access-map-hidden"');
    expect(html).not.toContain('id="access-map"');
    expect(html).not.toContain('id="approvals"');
    for (const tool of registry.tools) expect(html).not.toContain(`data-tool="${tool.name}"`);
  });
});
