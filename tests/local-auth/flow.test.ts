// @vitest-environment node
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  CookieJar,
  authorizeOverHttp,
  createPkcePair,
  discover,
  mintToken,
  refreshAccessToken,
  registerPublicClient,
} from '../../scripts/oauth-client/flow';
import { RESOURCE, useTestServer } from './helpers';

const logLines: string[] = [];
const testServer = useTestServer({ log: (line) => logLines.push(line) });

async function verify(token: string): Promise<JWTPayload> {
  const jwks = createRemoteJWKSet(new URL(`${testServer().issuer}/oauth2/jwks`));
  const { payload } = await jwtVerify(token, jwks, {
    issuer: testServer().issuer,
    audience: RESOURCE,
    algorithms: ['RS256'],
  });
  return payload;
}

function scopesOf(payload: JWTPayload): string[] {
  expect(typeof payload.scope).toBe('string');
  return String(payload.scope).split(' ');
}

describe('full authorization code flow', () => {
  it('mints an RS256 JWT for the resource with AuthKit-style claims', async () => {
    const before = Math.floor(Date.now() / 1000);
    const tokens = await mintToken({ issuer: testServer().issuer, user: 'alice', resource: RESOURCE });
    const payload = await verify(tokens.accessToken);

    expect(decodeProtectedHeader(tokens.accessToken)).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    expect(payload.iss).toBe(testServer().issuer);
    expect(payload.aud).toBe(RESOURCE);
    expect(payload.sub).toBe('user_alice');
    expect(payload.org_id).toBe('org_acme');
    expect(payload.client_id).toBe(tokens.clientId);
    expect(scopesOf(payload).sort()).toEqual(['notes:read', 'notes:write']);
    expect(payload.sid).toMatch(/^consent_/);
    expect(typeof payload.jti).toBe('string');
    expect(payload.iat).toBeGreaterThanOrEqual(before - 1);
    expect(payload.exp).toBe((payload.iat ?? 0) + 3600);
    // AuthKit MCP tokens carry no roles or permissions.
    expect(payload).not.toHaveProperty('role');
    expect(payload).not.toHaveProperty('roles');
    expect(payload).not.toHaveProperty('permissions');
    expect(tokens.expiresIn).toBe(3600);
    expect(tokens.refreshToken).toBeTypeOf('string');
  });

  it('signs in to the organization that was picked', async () => {
    const tokens = await mintToken({
      issuer: testServer().issuer,
      user: 'carol',
      org: 'org_globex',
      resource: RESOURCE,
    });
    const payload = await verify(tokens.accessToken);
    expect(payload.sub).toBe('user_carol');
    expect(payload.org_id).toBe('org_globex');
  });

  it('grants fewer scopes when fewer are requested', async () => {
    const tokens = await mintToken({
      issuer: testServer().issuer,
      user: 'bob',
      scope: 'notes:read',
      resource: RESOURCE,
    });
    const payload = await verify(tokens.accessToken);
    expect(scopesOf(payload)).toContain('notes:read');
    expect(scopesOf(payload)).not.toContain('notes:write');
    expect(tokens.scope).toBe('notes:read');
  });

  // Neither the authorization nor the token request names a resource, and
  // `openid` is requested too: the token must still be a JWT for the default resource.
  it('defaults to the first configured resource when none is requested', async () => {
    const metadata = await discover(testServer().issuer);
    const { clientId, redirectUri } = await registerPublicClient(metadata);
    const pkce = createPkcePair();
    const url = new URL(metadata.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: 'openid notes:read',
      state: 's',
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
    }).toString();
    const callback = await authorizeOverHttp({ authorizationUrl: url, user: 'alice' });
    const code = callback.searchParams.get('code');
    expect(code, callback.href).toBeTruthy();

    const res = await fetch(metadata.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: clientId,
        code: code ?? '',
        redirect_uri: redirectUri,
        code_verifier: pkce.verifier,
      }),
    });
    const body = (await res.json()) as { access_token?: string; id_token?: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    const payload = await verify(body.access_token ?? '');
    expect(payload.aud).toBe(RESOURCE);
    expect(payload.scope).toBe('notes:read');
    expect(body.id_token).toBeTypeOf('string');
  });

  it('refreshes into a new token for the same user, organization and consent', async () => {
    const first = await mintToken({ issuer: testServer().issuer, user: 'alice', resource: RESOURCE });
    const original = await verify(first.accessToken);
    const refreshed = await refreshAccessToken({
      issuer: testServer().issuer,
      clientId: first.clientId,
      refreshToken: first.refreshToken ?? '',
      resource: RESOURCE,
    });
    const payload = await verify(refreshed.accessToken);
    expect(payload.jti).not.toBe(original.jti);
    expect(payload).toMatchObject({ sub: 'user_alice', org_id: 'org_acme', sid: original.sid });
    expect(refreshed.refreshToken).toBeTypeOf('string');
    expect(refreshed.refreshToken).not.toBe(first.refreshToken); // public clients get rotation
  });

  it('redirects with access_denied when the user presses Deny', async () => {
    const metadata = await discover(testServer().issuer);
    const { clientId, redirectUri } = await registerPublicClient(metadata);
    const url = new URL(metadata.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: 'notes:read',
      state: 'deny-state',
      code_challenge: createPkcePair().challenge,
      code_challenge_method: 'S256',
      resource: RESOURCE,
    }).toString();
    const callback = await authorizeOverHttp({ authorizationUrl: url, user: 'alice', approve: false });
    expect(callback.href.startsWith(redirectUri)).toBe(true);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe('deny-state');
    expect(callback.searchParams.has('code')).toBe(false);
  });

  it('asks again on every authorization, so one browser session can switch users', async () => {
    const metadata = await discover(testServer().issuer);
    const { clientId, redirectUri } = await registerPublicClient(metadata);
    const browser = new CookieJar();
    const subjects: string[] = [];
    for (const user of ['alice', 'alice', 'bob']) {
      const pkce = createPkcePair();
      const url = new URL(metadata.authorization_endpoint);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: redirectUri,
        scope: 'notes:read',
        state: user,
        code_challenge: pkce.challenge,
        code_challenge_method: 'S256',
        resource: RESOURCE,
      }).toString();
      const callback = await authorizeOverHttp({ authorizationUrl: url, user, cookies: browser });
      const res = await fetch(metadata.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: clientId,
          code: callback.searchParams.get('code') ?? '',
          redirect_uri: redirectUri,
          code_verifier: pkce.verifier,
        }),
      });
      const body = (await res.json()) as { access_token?: string };
      expect(res.status, `${callback.href} ${JSON.stringify(body)}`).toBe(200);
      subjects.push(String((await verify(body.access_token ?? '')).sub));
    }
    expect(subjects).toEqual(['user_alice', 'user_alice', 'user_bob']);
  });

  it('refuses an organization the user does not belong to', async () => {
    await expect(
      mintToken({ issuer: testServer().issuer, user: 'bob', org: 'org_globex', resource: RESOURCE }),
    ).rejects.toThrow(/HTTP 400/);
  });

  it('never logs tokens', async () => {
    const tokens = await mintToken({ issuer: testServer().issuer, user: 'alice', resource: RESOURCE });
    expect(logLines.length).toBeGreaterThan(0);
    const joined = logLines.join('\n');
    expect(joined).not.toContain(tokens.accessToken);
    expect(joined).not.toContain(tokens.refreshToken ?? '\u0000');
  });
});
