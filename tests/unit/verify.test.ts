import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier, type TokenVerifier } from '@/lib/auth/verify';
import { b64url, startTestIssuer, type TestIssuer } from '../helpers/issuer';

const RESOURCE = 'http://127.0.0.1:3000/mcp';
let issuer: TestIssuer;
let verify: TokenVerifier;

beforeAll(async () => {
  issuer = await startTestIssuer();
  verify = createTokenVerifier({
    issuer: issuer.issuer,
    jwksUrl: issuer.jwksUrl,
    audiences: [RESOURCE],
    algorithms: ['RS256'],
  });
});
afterAll(async () => issuer.close());

const claims = (extra: Record<string, unknown> = {}) => ({
  aud: RESOURCE,
  sub: 'user_alice',
  org_id: 'org_acme',
  client_id: 'client_123',
  scope: 'notes:read notes:write',
  sid: 'app_consent_1',
  ...extra,
});

function expectInvalid(result: Awaited<ReturnType<TokenVerifier>>, description: RegExp) {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.kind).toBe('invalid_token');
  if (result.kind === 'invalid_token') expect(result.description).toMatch(description);
}

describe('access token verification (jose, JWKS on 127.0.0.1)', () => {
  it('accepts a valid token and returns a typed principal', async () => {
    const token = await issuer.sign(claims());
    const result = await verify(token);
    expect(result).toMatchObject({
      ok: true,
      principal: {
        kind: 'user',
        subject: 'user_alice',
        organizationId: 'org_acme',
        clientId: 'client_123',
        scopes: ['notes:read', 'notes:write'],
        sessionId: 'app_consent_1',
      },
    });
    expect(JSON.stringify(result)).not.toContain(token);
  });

  it('accepts an audience array that contains the resource', async () => {
    const result = await verify(await issuer.sign(claims({ aud: ['https://other.example/api', RESOURCE] })));
    expect(result.ok).toBe(true);
  });

  it('refuses an expired token', async () => {
    expectInvalid(await verify(await issuer.sign(claims(), { expiresIn: -120 })), /expired/);
  });

  it('refuses a token from another issuer', async () => {
    expectInvalid(await verify(await issuer.sign(claims({ iss: 'https://evil.authkit.app' }))), /trusted issuer/);
  });

  it('refuses a token for another audience, including near misses', async () => {
    for (const aud of ['http://127.0.0.1:3000/other', `${RESOURCE}/`, 'HTTP://127.0.0.1:3000/mcp', 'client_123']) {
      expectInvalid(await verify(await issuer.sign(claims({ aud }))), /not issued for this resource/);
    }
  });

  it('refuses alg "none"', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims({ iss: issuer.issuer, exp: 9999999999, iat: 1 }))}.`;
    expectInvalid(await verify(token), /malformed/);
    // Even with a junk signature segment, "none" is not in the allowlist.
    expectInvalid(await verify(`${token}AAAA`), /algorithm/);
  });

  it('refuses HS256 signed with the public key as the HMAC secret', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(issuer.publicJwk));
    const token = await new SignJWT({ ...claims(), iss: issuer.issuer })
      .setProtectedHeader({ alg: 'HS256', kid: issuer.kid })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(secret);
    expectInvalid(await verify(token), /algorithm/);
  });

  it('refuses a token signed by a key the issuer does not publish (unknown kid)', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    expectInvalid(await verify(await issuer.sign(claims(), { key: privateKey, kid: 'attacker-key' })), /unknown key/);
  });

  it('refuses a self-signed token that reuses the real kid', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    expectInvalid(await verify(await issuer.sign(claims(), { key: privateKey })), /signature/);
  });

  it('refuses a tampered payload', async () => {
    const token = await issuer.sign(claims({ scope: 'notes:read' }));
    const [header, , signature] = token.split('.');
    const forged = b64url({ ...claims({ scope: 'notes:read notes:write admin' }), iss: issuer.issuer, iat: 1, exp: 9999999999 });
    expectInvalid(await verify(`${header}.${forged}.${signature}`), /signature/);
  });

  it('requires exp, iat and sub', async () => {
    for (const omit of ['exp', 'iat', 'sub'] as const) {
      expectInvalid(await verify(await issuer.sign(claims(), { omit: [omit] })), /required claim/);
    }
  });

  it('refuses encrypted (5-part), oversized and non-JWT tokens without parsing them', async () => {
    expectInvalid(await verify('a.b.c.d.e'), /malformed/);
    expectInvalid(await verify(`${'a'.repeat(9000)}.b.c`), /malformed/);
    expectInvalid(await verify('not-a-jwt'), /malformed/);
  });

  it('fails closed as "unavailable" when the JWKS is down, and recovers', async () => {
    const fresh = createTokenVerifier({ issuer: issuer.issuer, jwksUrl: issuer.jwksUrl, audiences: [RESOURCE], algorithms: ['RS256'] });
    issuer.setMode('down');
    try {
      expect(await fresh(await issuer.sign(claims()))).toEqual({ ok: false, kind: 'unavailable' });
      issuer.setMode('garbage');
      expect(await fresh(await issuer.sign(claims()))).toEqual({ ok: false, kind: 'unavailable' });
    } finally {
      issuer.setMode('up');
    }
    expect((await fresh(await issuer.sign(claims()))).ok).toBe(true);
  });

  it('fails closed when the JWKS host is unreachable', async () => {
    const unreachable = createTokenVerifier({
      issuer: issuer.issuer,
      jwksUrl: 'http://127.0.0.1:9/oauth2/jwks', // discard port: nothing listens
      audiences: [RESOURCE],
      algorithms: ['RS256'],
    });
    expect(await unreachable(await issuer.sign(claims()))).toEqual({ ok: false, kind: 'unavailable' });
  });
});
