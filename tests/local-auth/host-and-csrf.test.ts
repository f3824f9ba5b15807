// @vitest-environment node
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { CookieJar, createPkcePair, discover, registerPublicClient } from '../../scripts/oauth-client/flow';
import { escapeControlChars, isOwnHost, ownAuthorities } from '../../scripts/local-auth/hosts';
import { LOCAL_WORKOS_API_KEY } from '../../scripts/local-auth/workos-api';
import { RESOURCE, useTestServer } from './helpers';

/**
 * The local authorization server answers only to its own loopback names (DNS rebinding), and its
 * sign-in forms accept a POST only with the interaction's cookie, the page's form token and, when
 * a browser sends one, this server's own Origin.
 */
const logLines: string[] = [];
const testServer = useTestServer({ log: (line) => logLines.push(line) });

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/** Raw HTTP to 127.0.0.1 with whatever Host header a rebinding page's browser would send. */
function send(
  path: string,
  options: { host: string; method?: string; headers?: Record<string, string>; body?: string },
): Promise<Answer> {
  // An empty `host` sends no Host header at all (Node would otherwise fill in its own).
  const host = options.host === '' ? {} : { host: options.host };
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: testServer().port,
        path,
        method: options.method ?? 'GET',
        headers: { ...host, ...options.headers },
        setHost: false,
        timeout: 5_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer for ${path}`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('Host: only the names this server was configured for', () => {
  it.each([
    ['a sign-in page', 'GET', '/interaction/abc123'],
    ['the authorization endpoint', 'GET', '/oauth2/authorize?response_type=code&client_id=x'],
    ['the metadata', 'GET', '/.well-known/oauth-authorization-server'],
    ['registration', 'POST', '/oauth2/register'],
    ['the token endpoint', 'POST', '/oauth2/token'],
    ['the directory: users', 'GET', '/user_management/users?limit=100'],
    ['the directory: one membership list', 'GET', '/user_management/organization_memberships?user_id=user_alice'],
    ['the directory: roles', 'GET', '/authorization/organizations/org_acme/roles'],
  ])('refuses %s for Host: evil.example:<port> before any page or API logic', async (_what, method, path) => {
    const answer = await send(path, {
      host: `evil.example:${testServer().port}`,
      method,
      headers: { authorization: `Bearer ${LOCAL_WORKOS_API_KEY}`, 'content-type': 'application/json' },
      body: method === 'POST' ? '{}' : undefined,
    });
    expect(answer.status).toBe(421);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'misdirected_request' });
    // Nothing from the directory or the pages leaks into the refusal.
    expect(answer.body).not.toMatch(/alice|acme|user_|<form|<html/i);
    expect(answer.headers['set-cookie']).toBeUndefined();
  });

  it('refuses the right name on the wrong port, a missing Host, and a bare loopback name', async () => {
    for (const host of [
      `localhost:${testServer().port + 1}`,
      'localhost',
      '127.0.0.1',
      `localhost.evil.example:${testServer().port}`,
    ]) {
      const answer = await send('/user_management/users', {
        host,
        headers: { authorization: `Bearer ${LOCAL_WORKOS_API_KEY}` },
      });
      expect(answer.status, `Host: ${host}`).toBe(421);
    }
    // No Host at all: Node's HTTP/1.1 server refuses it itself (400) before our handler runs.
    const none = await send('/user_management/users', {
      host: '',
      headers: { authorization: `Bearer ${LOCAL_WORKOS_API_KEY}` },
    });
    expect(none.status).toBe(400);
    expect(none.body).not.toContain('user_alice');
  });

  it.each(['localhost', '127.0.0.1', '[::1]', 'LOCALHOST'])(
    'serves %s:<port>, with endpoint URLs from the configured issuer, never from Host',
    async (name) => {
      const answer = await send('/.well-known/oauth-authorization-server', { host: `${name}:${testServer().port}` });
      expect(answer.status).toBe(200);
      const metadata = JSON.parse(answer.body) as Record<string, unknown>;
      expect(metadata.issuer).toBe(testServer().issuer);
      for (const key of ['authorization_endpoint', 'token_endpoint', 'registration_endpoint', 'jwks_uri']) {
        expect(String(metadata[key])).toMatch(new RegExp(`^${testServer().issuer}/oauth2/`));
      }
    },
  );

  it("sends a browser that starts signing in on another of our names to the issuer's name", async () => {
    const path = '/oauth2/authorize?response_type=code&client_id=x';
    const answer = await send(path, { host: `127.0.0.1:${testServer().port}` });
    expect(answer.status).toBe(307);
    expect(answer.headers.location).toBe(`${testServer().issuer}${path}`);
  });

  it('the directory still answers its own name with the development key', async () => {
    const answer = await send('/user_management/users?limit=100', {
      host: `127.0.0.1:${testServer().port}`,
      headers: { authorization: `Bearer ${LOCAL_WORKOS_API_KEY}` },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('user_alice');
  });

  it('decides by exact authority (table)', () => {
    const own = ownAuthorities(4000, 'http://localhost:4000');
    expect([...own].sort()).toEqual(['127.0.0.1:4000', '[::1]:4000', 'localhost:4000']);
    const table: Array<[string | undefined, boolean]> = [
      ['localhost:4000', true],
      ['127.0.0.1:4000', true],
      ['[::1]:4000', true],
      ['LocalHost:4000', true],
      ['localhost:4001', false],
      ['localhost', false],
      ['evil.example:4000', false],
      ['127.0.0.1.nip.io:4000', false],
      ['localhost:4000.evil.example', false],
      ['', false],
      [undefined, false],
    ];
    for (const [host, expected] of table) expect(isOwnHost(host, own), String(host)).toBe(expected);
    // A configured non-loopback issuer (e.g. a tunnel) is its own name too.
    expect(isOwnHost('auth.example.test', ownAuthorities(4000, 'https://auth.example.test'))).toBe(true);
  });
});

/** Opens a real interaction the way a browser does (GET, cookies kept) and returns its sign-in page. */
async function openInteraction(): Promise<{ uid: string; pageUrl: URL; cookie: string; formToken: string }> {
  const metadata = await discover(testServer().issuer);
  const client = await registerPublicClient(metadata);
  const authorize = new URL(metadata.authorization_endpoint);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    scope: 'notes:read',
    state: 'st',
    code_challenge: createPkcePair().challenge,
    code_challenge_method: 'S256',
    resource: RESOURCE,
  }).toString();
  const jar = new CookieJar();
  const first = await fetch(authorize, { redirect: 'manual' });
  jar.store(first);
  const pageUrl = new URL(first.headers.get('location') ?? '', authorize);
  const uid = /^\/interaction\/([^/]+)$/.exec(pageUrl.pathname)?.[1];
  if (!uid) throw new Error(`not redirected to an interaction: ${pageUrl.href}`);
  const page = await fetch(pageUrl, { headers: { cookie: jar.header(pageUrl) ?? '' } });
  const html = await page.text();
  expect(page.status).toBe(200);
  expect(page.headers.get('referrer-policy')).toBe('same-origin');
  const formToken = /name="form_token" value="([^"]+)"/.exec(html)?.[1];
  if (!formToken) throw new Error('the sign-in page has no form token');
  const loginUrl = new URL(`/interaction/${uid}/login`, pageUrl);
  return { uid, pageUrl, cookie: jar.header(loginUrl) ?? '', formToken };
}

function postLogin(
  interaction: { uid: string; cookie: string },
  options: { origin?: string; formToken?: string; host?: string },
): Promise<Answer> {
  const host = options.host ?? `localhost:${testServer().port}`;
  return send(`/interaction/${interaction.uid}/login`, {
    host,
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: interaction.cookie,
      ...(options.origin === undefined ? {} : { origin: options.origin }),
    },
    body: new URLSearchParams({
      ...(options.formToken === undefined ? {} : { form_token: options.formToken }),
      user: 'user_alice',
      org: 'org_acme',
    }).toString(),
  });
}

describe('the sign-in forms', () => {
  it("accept the page's own POST: same Origin, the cookie and the form token", async () => {
    const interaction = await openInteraction();
    const answer = await postLogin(interaction, {
      origin: `http://localhost:${testServer().port}`,
      formToken: interaction.formToken,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('Authorize');
    expect(answer.body).toContain(`name="form_token" value="${interaction.formToken}"`);
  });

  it('refuse Origin: null (what no-referrer pages made browsers send) and a foreign origin', async () => {
    const interaction = await openInteraction();
    for (const origin of [
      'null',
      'http://evil.example',
      `http://127.0.0.1:${testServer().port + 1}`,
      `https://localhost:${testServer().port}`,
    ]) {
      const answer = await postLogin(interaction, { origin, formToken: interaction.formToken });
      expect(answer.status, origin).toBe(403);
      expect(answer.body).toContain('Cross-site form submission refused');
    }
  });

  it("refuse an Origin of another of our own names: the pages live on the issuer's name only", async () => {
    const interaction = await openInteraction();
    const answer = await postLogin(interaction, {
      origin: `http://127.0.0.1:${testServer().port}`,
      formToken: interaction.formToken,
    });
    expect(answer.status).toBe(403);
  });

  it('refuse a POST without the form token, or with the token of another interaction', async () => {
    const interaction = await openInteraction();
    const other = await openInteraction();
    expect(other.formToken).not.toBe(interaction.formToken);
    for (const formToken of [undefined, '', other.formToken, `${interaction.formToken}x`]) {
      const answer = await postLogin(interaction, { formToken });
      expect(answer.status, String(formToken)).toBe(403);
      expect(answer.body).toContain('did not come from this sign-in page');
    }
  });

  it('refuse a POST without the interaction cookie, even with the right token', async () => {
    const interaction = await openInteraction();
    const answer = await postLogin({ ...interaction, cookie: '' }, { formToken: interaction.formToken });
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('expired or was opened in another browser');
  });
});

describe('log lines', () => {
  it('escape control characters: a client_name with a newline cannot forge a line', async () => {
    const forged = 'innocent\n[local-auth] alice (org_acme) allowed client evil: notes:delete\u001b[2J';
    const metadata = await discover(testServer().issuer);
    const res = await fetch(metadata.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: forged,
        redirect_uris: ['http://127.0.0.1/cb'],
        token_endpoint_auth_method: 'none',
      }),
    });
    expect(res.status).toBe(201);
    const line = logLines.find((l) => l.includes('innocent'));
    expect(line).toBeDefined();
    expect(line).not.toMatch(/[\n\r\u001b]/);
    expect(line).toContain('innocent\\u000a[local-auth] alice');
    expect(logLines.every((l) => !/[\u0000-\u001f]/.test(l))).toBe(true);
  });

  it('escapes every C0 and C1 control character and the Unicode line separators (table)', () => {
    expect(escapeControlChars('a\r\nb\tc\u0000d\u007fe\u009bf\u2028g')).toBe(
      'a\\u000d\\u000ab\\u0009c\\u0000d\\u007fe\\u009bf\\u2028g',
    );
    expect(escapeControlChars('plain text · ünïcode')).toBe('plain text · ünïcode');
  });
});
