import { createHash } from 'node:crypto';
import { createRemoteJWKSet, generateKeyPair, type JWTVerifyGetKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenCache, tokenCacheParts } from '@/lib/auth/token-cache';
import { createTokenVerifier } from '@/lib/auth/verify';
import type { UserPrincipal } from '@/lib/auth/principal';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';

const RESOURCE = 'http://127.0.0.1:3000/mcp';
let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await startTestIssuer();
});
afterAll(async () => issuer?.close());

const claims = (extra: Record<string, unknown> = {}) => ({
  aud: RESOURCE,
  sub: 'user_cache',
  org_id: 'org_acme',
  scope: 'notes:read',
  ...extra,
});

/** jose's remote key set, wrapped to count how often a verification asked for a key. */
function countingKeys(): { keys: JWTVerifyGetKey; lookups: () => number } {
  const remote = createRemoteJWKSet(new URL(issuer.jwksUrl));
  let lookups = 0;
  return {
    keys: (header, token) => {
      lookups += 1;
      return remote(header, token);
    },
    lookups: () => lookups,
  };
}

const verifierWith = (options: Partial<Parameters<typeof createTokenVerifier>[0]> = {}) =>
  createTokenVerifier({
    issuer: issuer.issuer,
    jwksUrl: issuer.jwksUrl,
    audiences: [RESOURCE],
    algorithms: ['RS256'],
    ...options,
  });

describe('verified-token cache', () => {
  it('a repeated token is verified once', async () => {
    const { keys, lookups } = countingKeys();
    const verify = verifierWith({ keys });
    const token = await issuer.sign(claims());
    expect((await verify(token)).ok).toBe(true);
    expect((await verify(token)).ok).toBe(true);
    expect(lookups()).toBe(1);
    expect((await verifierWith({ keys, cache: false })(token)).ok).toBe(true);
    expect(lookups()).toBe(2); // with the cache off, every call verifies
  });

  it('never caches a failed verification as valid', async () => {
    const cache = createTokenCache();
    const verify = verifierWith({ cache });
    const expired = await issuer.sign(claims(), { expiresIn: -120 });
    expect((await verify(expired)).ok).toBe(false);
    expect((await verify(expired)).ok).toBe(false);
    const token = await issuer.sign(claims());
    const [header, , signature] = token.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims({ scope: 'notes:read notes:write' }), iss: issuer.issuer, iat: 1, exp: 9999999999 })).toString('base64url')}.${signature}`;
    expect((await verify(forged)).ok).toBe(false);
    expect(cache.size()).toBe(0);
  });

  it('a cached token lends nothing to a token that reuses its signature or re-spells it', async () => {
    const cache = createTokenCache();
    const verify = verifierWith({ cache });
    const token = await issuer.sign(claims());
    expect((await verify(token)).ok).toBe(true);
    expect(cache.size()).toBe(1);
    const [header, , signature] = token.split('.') as [string, string, string];
    const escalated = Buffer.from(
      JSON.stringify({ ...claims({ scope: 'notes:read notes:write' }), iss: issuer.issuer, iat: 1, exp: 9999999999 }),
    ).toString('base64url');
    expect(await verify(`${header}.${escalated}.${signature}`)).toMatchObject({ ok: false, kind: 'invalid_token' });
    // The same signature bytes spelled with non-zero unused bits in the last character (RFC 4648 §3.5).
    const last = signature.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = `${token.slice(0, -1)}${alphabet[alphabet.indexOf(last) | 1]}`;
    expect(respelled).not.toBe(token);
    expect(await verify(respelled)).toMatchObject({ ok: false, kind: 'invalid_token' });
    expect(cache.size()).toBe(1);
  });

  it("an entry never outlives the token's exp", async () => {
    let now = Date.now();
    const cache = createTokenCache({ now: () => now });
    const principal: UserPrincipal = {
      kind: 'user',
      callerKind: 'user',
      actors: [],
      subject: 's',
      scopes: [],
      issuedAt: now / 1000,
      expiresAt: Math.floor(now / 1000) + 60,
    };
    cache.set('h.p.token-a', principal);
    expect(cache.get('h.p.token-a')).toEqual(principal);
    now += 61_000;
    expect(cache.get('h.p.token-a')).toBeUndefined();

    // Even a long-lived token is re-verified after at most five minutes.
    cache.set('h.p.token-b', { ...principal, expiresAt: Math.floor(now / 1000) + 86_400 });
    now += 5 * 60_000 + 1;
    expect(cache.get('h.p.token-b')).toBeUndefined();
  });

  it('files an entry under the SHA-256 of the signature and never holds the signature', () => {
    const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const parts = tokenCacheParts(token);
    expect(parts?.key).toBe(createHash('sha256').update('c2lnbmF0dXJl').digest('hex'));
    expect(parts?.signingInput).toBe('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0');
    expect(JSON.stringify(parts)).not.toContain('c2lnbmF0dXJl');
    expect(tokenCacheParts('no-dots-at-all')).toBeUndefined();
  });

  it('answers only for the exact token string: another signature or another signing input misses', () => {
    const cache = createTokenCache();
    const principal: UserPrincipal = {
      kind: 'user',
      callerKind: 'user',
      actors: [],
      subject: 's',
      scopes: [],
      issuedAt: 0,
      expiresAt: Math.floor(Date.now() / 1000) + 600,
    };
    cache.set('hdr.payload.sig1', principal);
    expect(cache.get('hdr.payload.sig1')).toEqual(principal);
    expect(cache.get('hdr.payload.sig2')).toBeUndefined(); // same claims, different signature
    expect(cache.get('hdr.payload2.sig1')).toBeUndefined(); // the signature moved onto other claims
    expect(cache.get('hdr2.payload.sig1')).toBeUndefined();
    expect(cache.get('hdr.payload.sig1.')).toBeUndefined();
    expect(cache.get('sig1')).toBeUndefined();
  });

  it('is bounded in size, dropping the oldest entries', async () => {
    const cache = createTokenCache({ maxEntries: 3 });
    const principal: UserPrincipal = {
      kind: 'user',
      callerKind: 'user',
      actors: [],
      subject: 's',
      scopes: [],
      issuedAt: 0,
      expiresAt: Math.floor(Date.now() / 1000) + 600,
    };
    for (const token of ['h.p.t1', 'h.p.t2', 'h.p.t3', 'h.p.t4', 'h.p.t5']) cache.set(token, principal);
    expect(cache.size()).toBe(3);
    expect(cache.get('h.p.t1')).toBeUndefined();
    expect(cache.get('h.p.t5')).toEqual(principal);
  });
});

describe('JWKS fetches under load', () => {
  it('100 concurrent first requests on a cold verifier cause exactly one JWKS fetch', async () => {
    const verify = verifierWith({ cache: false });
    const tokens = await Promise.all(Array.from({ length: 100 }, (_, i) => issuer.sign(claims({ sub: `user_${i}` }))));
    const before = issuer.jwksFetches();
    const results = await Promise.all(tokens.map((token) => verify(token)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(issuer.jwksFetches() - before).toBe(1);
  });

  it('an unknown-kid flood causes at most one refetch per cooldown', async () => {
    const verify = verifierWith({ cache: false });
    expect((await verify(await issuer.sign(claims()))).ok).toBe(true); // warm: one fetch
    const { privateKey } = await generateKeyPair('RS256');
    const flood = await Promise.all(
      Array.from({ length: 60 }, () => issuer.sign(claims(), { key: privateKey, kid: crypto.randomUUID() })),
    );
    const before = issuer.jwksFetches();
    const first = await Promise.all(flood.slice(0, 30).map((token) => verify(token)));
    const second = await Promise.all(flood.slice(30).map((token) => verify(token)));
    expect([...first, ...second].every((r) => !r.ok)).toBe(true);
    expect(issuer.jwksFetches() - before).toBeLessThanOrEqual(1);
  });
});
