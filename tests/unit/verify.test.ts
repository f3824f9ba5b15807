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
        callerKind: 'user',
        actors: [],
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
    const forged = b64url({
      ...claims({ scope: 'notes:read notes:write admin' }),
      iss: issuer.issuer,
      iat: 1,
      exp: 9999999999,
    });
    expectInvalid(await verify(`${header}.${forged}.${signature}`), /signature/);
  });

  it('requires exp, iat, sub and jti', async () => {
    for (const omit of ['exp', 'iat', 'sub'] as const) {
      expectInvalid(await verify(await issuer.sign(claims(), { omit: [omit] })), /required claim/);
    }
    expectInvalid(await verify(await issuer.sign(claims({ jti: undefined }))), /required claim/);
  });

  it('refuses encrypted (5-part), oversized and non-JWT tokens without parsing them', async () => {
    expectInvalid(await verify('a.b.c.d.e'), /malformed/);
    expectInvalid(await verify(`${'a'.repeat(9000)}.b.c`), /malformed/);
    expectInvalid(await verify('not-a-jwt'), /malformed/);
  });

  it('fails closed as "unavailable" when the JWKS is down, and recovers', async () => {
    const fresh = createTokenVerifier({
      issuer: issuer.issuer,
      jwksUrl: issuer.jwksUrl,
      audiences: [RESOURCE],
      algorithms: ['RS256'],
    });
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

describe('token types: an access token, never an ID token or another JWT of the issuer', () => {
  const EXTRA = 'client_01EXTRA';
  let extra: TokenVerifier;
  beforeAll(() => {
    extra = createTokenVerifier({
      issuer: issuer.issuer,
      jwksUrl: issuer.jwksUrl,
      audiences: [RESOURCE, EXTRA],
      extraAudiences: [EXTRA],
      algorithms: ['RS256'],
    });
  });
  const typed = (typ: string | undefined, extraClaims: Record<string, unknown> = {}) =>
    issuer.sign(claims(extraClaims), { header: { typ } });

  it.each(['at+jwt', 'AT+JWT', 'application/at+jwt', 'JWT', 'jwt', undefined])('accepts typ %s', async (typ) => {
    expect((await verify(await typed(typ))).ok).toBe(true);
  });

  it.each([
    'logout+jwt',
    'secevent+jwt',
    'dpop+jwt',
    'id_token+jwt',
    'token-introspection+jwt',
    'JOSE',
    'application/jwt+x',
    '',
  ])('refuses typ %j', async (typ) => {
    expectInvalid(await verify(await typed(typ)), /not an access token/);
  });

  it.each(['nonce', 'at_hash', 'c_hash', 's_hash'])(
    'refuses a token carrying the ID-token claim %s, whatever its audience',
    async (claim) => {
      expectInvalid(
        await verify(await issuer.sign(claims({ [claim]: 'x3bKQW0qVhZqLCDmDS1pKw' }))),
        /not an access token/,
      );
      expectInvalid(
        await extra(await issuer.sign(claims({ aud: EXTRA, [claim]: 'x3bKQW0qVhZqLCDmDS1pKw' }))),
        /not an access token/,
      );
    },
  );

  it.each(['email', 'email_verified', 'name', 'given_name', 'family_name', 'preferred_username', 'picture'])(
    'refuses profile claim %s when only an extra audience matched, accepts it for the resource audience',
    async (claim) => {
      expectInvalid(await extra(await issuer.sign(claims({ aud: EXTRA, [claim]: 'x' }))), /not an access token/);
      expect((await extra(await issuer.sign(claims({ aud: [EXTRA, RESOURCE], [claim]: 'x' })))).ok).toBe(true);
      expect((await verify(await issuer.sign(claims({ [claim]: 'x' })))).ok).toBe(true);
    },
  );

  it('accepts an AuthKit-shaped access token for the client-id audience (jti, sid, org_id, no client_id)', async () => {
    const result = await extra(
      await issuer.sign(
        { aud: EXTRA, sub: 'user_alice', org_id: 'org_acme', sid: 'app_consent_01', scope: 'openid' },
        { header: { typ: 'JWT' } },
      ),
    );
    expect(result).toMatchObject({ ok: true, principal: { subject: 'user_alice', organizationId: 'org_acme' } });
  });

  it('refuses an AuthKit-shaped ID token for the client-id audience (profile claims, nonce, no jti)', async () => {
    const id = await issuer.sign(
      {
        aud: EXTRA,
        sub: 'user_alice',
        email: 'a@x.test',
        email_verified: true,
        name: 'A',
        nonce: 'n1',
        jti: undefined,
      },
      { header: { typ: undefined } },
    );
    expect((await extra(id)).ok).toBe(false);
  });
});

describe('token lifetime and time claims', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('accepts up to 24 h between iat and exp by default and refuses a second more', async () => {
    expect((await verify(await issuer.sign(claims(), { expiresIn: 86_400 }))).ok).toBe(true);
    expectInvalid(await verify(await issuer.sign(claims(), { expiresIn: 86_401 })), /lifetime exceeds/);
    expectInvalid(await verify(await issuer.sign(claims(), { expiresIn: 365 * 86_400 })), /lifetime exceeds/);
  });

  it('follows a configured maximum', async () => {
    const short = createTokenVerifier({
      issuer: issuer.issuer,
      jwksUrl: issuer.jwksUrl,
      audiences: [RESOURCE],
      algorithms: ['RS256'],
      maxTokenLifetimeSeconds: 600,
    });
    expect((await short(await issuer.sign(claims(), { expiresIn: 600 }))).ok).toBe(true);
    expectInvalid(await short(await issuer.sign(claims(), { expiresIn: 601 })), /lifetime exceeds/);
    // Issued longer ago than the maximum: refused even though exp is still ahead.
    expectInvalid(await short(await issuer.sign(claims({ iat: now() - 700, exp: now() + 60 }))), /lifetime exceeds/);
  });

  it('refuses an iat in the future beyond the 30 s tolerance, accepts one within it', async () => {
    expectInvalid(
      await verify(await issuer.sign(claims({ iat: now() + 120, exp: now() + 600 }))),
      /issued in the future/,
    );
    expect((await verify(await issuer.sign(claims({ iat: now() + 20, exp: now() + 600 })))).ok).toBe(true);
  });

  it('honours nbf: refused ahead of the tolerance, accepted within it and after; a non-number is invalid', async () => {
    expectInvalid(await verify(await issuer.sign(claims({ nbf: now() + 120 }))), /not valid yet/);
    expect((await verify(await issuer.sign(claims({ nbf: now() + 20 })))).ok).toBe(true);
    expect((await verify(await issuer.sign(claims({ nbf: now() - 20 })))).ok).toBe(true);
    expectInvalid(await verify(await issuer.sign(claims({ nbf: 'now' }))), /invalid claim/);
  });
});
