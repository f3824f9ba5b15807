import { createHash } from 'node:crypto';
import { createRemoteJWKSet, generateKeyPair, type JWTVerifyGetKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenCache } from '@/lib/auth/token-cache';
import { createTokenVerifier } from '@/lib/auth/verify';
import type { UserPrincipal } from '@/lib/auth/principal';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';

const RESOURCE = 'http://127.0.0.1:3000/mcp';
let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await startTestIssuer();
});
afterAll(async () => issuer?.close());

const claims = (extra: Record<string, unknown> = {}) => ({ aud: RESOURCE, sub: 'user_cache', org_id: 'org_acme', scope: 'notes:read', ...extra });

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
  createTokenVerifier({ issuer: issuer.issuer, jwksUrl: issuer.jwksUrl, audiences: [RESOURCE], algorithms: ['RS256'], ...options });

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

  it("an entry never outlives the token's exp", async () => {
    let now = Date.now();
    const cache = createTokenCache({ now: () => now });
    const principal: UserPrincipal = { kind: 'user', subject: 's', scopes: [], issuedAt: now / 1000, expiresAt: Math.floor(now / 1000) + 60 };
    cache.set(cache.keyOf('token-a'), principal);
    expect(cache.get(cache.keyOf('token-a'))).toEqual(principal);
    now += 61_000;
    expect(cache.get(cache.keyOf('token-a'))).toBeUndefined();

    // Even a long-lived token is re-verified after at most five minutes.
    cache.set(cache.keyOf('token-b'), { ...principal, expiresAt: Math.floor(now / 1000) + 86_400 });
    now += 5 * 60_000 + 1;
    expect(cache.get(cache.keyOf('token-b'))).toBeUndefined();
  });

  it('is keyed by the SHA-256 of the token, never the token itself', () => {
    const cache = createTokenCache();
    const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    expect(cache.keyOf(token)).toBe(createHash('sha256').update(token).digest('hex'));
    expect(cache.keyOf(token)).not.toContain('eyJ');
  });

  it('is bounded in size, dropping the oldest entries', async () => {
    const cache = createTokenCache({ maxEntries: 3 });
    const principal: UserPrincipal = { kind: 'user', subject: 's', scopes: [], issuedAt: 0, expiresAt: Math.floor(Date.now() / 1000) + 600 };
    for (const token of ['t1', 't2', 't3', 't4', 't5']) cache.set(cache.keyOf(token), principal);
    expect(cache.size()).toBe(3);
    expect(cache.get(cache.keyOf('t1'))).toBeUndefined();
    expect(cache.get(cache.keyOf('t5'))).toEqual(principal);
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
    const flood = await Promise.all(Array.from({ length: 60 }, () => issuer.sign(claims(), { key: privateKey, kid: crypto.randomUUID() })));
    const before = issuer.jwksFetches();
    const first = await Promise.all(flood.slice(0, 30).map((token) => verify(token)));
    const second = await Promise.all(flood.slice(30).map((token) => verify(token)));
    expect([...first, ...second].every((r) => !r.ok)).toBe(true);
    expect(issuer.jwksFetches() - before).toBeLessThanOrEqual(1);
  });
});
