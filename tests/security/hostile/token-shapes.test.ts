import { exportSPKI, generateKeyPair, importJWK, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { b64, header, jwt, rs256Raw } from '../helpers';
import {
  D,
  type Row,
  attacker,
  attackerHits,
  attackerJwks,
  bearer,
  call,
  claimsNow,
  hostileRows,
  invalidToken,
  issuer,
  post,
  realKeyAs,
  tok,
  useHostileStack,
  withSegment,
} from './rows';

/**
 * The hostile matrix, token shapes.
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: 'oversized token (8193+ characters)',
    on: 'endpoint',
    request: async () => post(call('open'), bearer(withSegment(await tok(), 1, 'A'.repeat(8200)))),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'not a JWT',
    on: 'endpoint',
    request: () => post(call('open'), bearer('garbage')),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'two segments',
    on: 'endpoint',
    request: async () => post(call('open'), bearer((await tok()).split('.').slice(0, 2).join('.'))),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'encrypted (5-part JWE) token',
    on: 'endpoint',
    request: () =>
      post(
        call('open'),
        bearer(
          `${b64({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'test-key-1' })}.${b64('k')}.${b64('iv')}.${b64('ct')}.${b64('tag')}`,
        ),
      ),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'base64 padding in a segment',
    on: 'endpoint',
    request: async () => post(call('open'), bearer(`${await tok()}==`)),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'alg none, empty signature',
    on: 'endpoint',
    request: () => post(call('member'), bearer(`${b64({ alg: 'none' })}.${b64(claimsNow())}.`)),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'alg none, junk signature',
    on: 'endpoint',
    request: () => post(call('member'), bearer(`${b64({ alg: 'none', kid: 'test-key-1' })}.${b64(claimsNow())}.c2ln`)),
    status: 401,
    www: invalidToken(D.algorithm),
  },
  {
    name: 'alg "None" (case variant)',
    on: 'endpoint',
    request: () => post(call('member'), bearer(`${b64({ alg: 'None' })}.${b64(claimsNow())}.c2ln`)),
    status: 401,
    www: invalidToken(D.algorithm),
  },
  {
    name: 'HS256 signed with the public key (PEM) as the HMAC secret',
    on: 'endpoint',
    request: async () => {
      const pem = await exportSPKI((await importJWK(issuer.publicJwk, 'RS256')) as CryptoKey);
      return post(
        call('member'),
        bearer(await jwt(claimsNow(), { alg: 'HS256', kid: issuer.kid }, new TextEncoder().encode(pem))),
      );
    },
    status: 401,
    www: invalidToken(D.algorithm),
  },
  {
    name: 'RS384 with the real key material and kid',
    on: 'endpoint',
    request: async () =>
      post(call('member'), bearer(await jwt(claimsNow(), { alg: 'RS384', kid: issuer.kid }, await realKeyAs('RS384')))),
    status: 401,
    www: invalidToken(D.algorithm),
  },
  {
    name: 'PS256 with the real key material and kid',
    on: 'endpoint',
    request: async () =>
      post(call('member'), bearer(await jwt(claimsNow(), { alg: 'PS256', kid: issuer.kid }, await realKeyAs('PS256')))),
    status: 401,
    www: invalidToken(D.algorithm),
  },
  {
    name: 'ES256 with the real kid',
    on: 'endpoint',
    request: async () =>
      post(
        call('member'),
        bearer(await jwt(claimsNow(), { alg: 'ES256', kid: issuer.kid }, (await generateKeyPair('ES256')).privateKey)),
      ),
    status: 401,
    www: invalidToken(D.algorithm),
  },
  {
    name: 'self-signed RS256 key with the real kid',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { key: attacker.privateKey }))),
    status: 401,
    www: invalidToken(D.signature),
  },
  {
    name: 'jku pointing at an attacker JWKS (not fetched)',
    on: 'endpoint',
    request: async () =>
      post(
        call('member'),
        bearer(
          await tok(
            {},
            { key: attacker.privateKey, kid: 'attacker-1', header: { jku: `${attackerJwks.url}/jwks.json` } },
          ),
        ),
      ),
    status: 401,
    www: invalidToken(D.unknownKey),
    check: () => expect(attackerHits).toBe(0),
  },
  {
    name: 'x5u pointing at an attacker URL (not fetched)',
    on: 'endpoint',
    request: async () =>
      post(
        call('member'),
        bearer(
          await tok(
            {},
            { key: attacker.privateKey, kid: 'attacker-1', header: { x5u: `${attackerJwks.url}/cert.pem` } },
          ),
        ),
      ),
    status: 401,
    www: invalidToken(D.unknownKey),
    check: () => expect(attackerHits).toBe(0),
  },
  {
    name: 'embedded attacker jwk with the real kid',
    on: 'endpoint',
    request: async () =>
      post(call('member'), bearer(await tok({}, { key: attacker.privateKey, header: { jwk: attacker.publicJwk } }))),
    status: 401,
    www: invalidToken(D.signature),
  },
  {
    name: 'embedded attacker jwk and no kid',
    on: 'endpoint',
    request: async () => {
      const { kid: _kid, ...jwkWithoutKid } = attacker.publicJwk;
      return post(
        call('member'),
        bearer(await rs256Raw(attacker.privateKey, { alg: 'RS256', jwk: jwkWithoutKid }, claimsNow())),
      );
    },
    status: 401,
    www: invalidToken(D.signature),
  },
  {
    name: 'unknown kid',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { key: attacker.privateKey, kid: 'rotated-away' }))),
    status: 401,
    www: invalidToken(D.unknownKey),
  },
  {
    name: 'kid flood: 50 tokens with random kids, JWKS fetched at most twice',
    on: 'endpoint',
    repeat: 50,
    request: async () =>
      post(call('member'), bearer(await tok({}, { key: attacker.privateKey, kid: crypto.randomUUID() }))),
    status: 401,
    www: invalidToken(D.unknownKey),
    after: ({ jwksFetchesBefore }) => expect(issuer.jwksFetches() - jwksFetchesBefore).toBeLessThanOrEqual(2),
  },
  {
    name: 'kid with quotes, backslash and CR/LF (nothing reaches a header)',
    on: 'endpoint',
    request: async () =>
      post(call('member'), bearer(await tok({}, { key: attacker.privateKey, kid: 'k"\\\r\nSet-Cookie: pwned=1' }))),
    status: 401,
    www: invalidToken(D.unknownKey),
    check: (response) => expect(header(response, 'set-cookie')).toBeNull(),
  },
  {
    name: 'unknown crit header parameter',
    on: 'endpoint',
    request: async () =>
      post(
        call('member'),
        bearer(
          await rs256Raw(
            issuer.privateKey,
            { alg: 'RS256', kid: issuer.kid, crit: ['x-must'], 'x-must': 1 },
            claimsNow(),
          ),
        ),
      ),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'payload is not JSON',
    on: 'endpoint',
    request: async () =>
      post(call('member'), bearer(await rs256Raw(issuer.privateKey, { alg: 'RS256', kid: issuer.kid }, 'not json'))),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'payload swapped for an admin one, signature kept',
    on: 'endpoint',
    request: async () =>
      post(
        call('notes_read'),
        bearer(withSegment(await tok(), 1, b64(claimsNow({ sub: 'user_admin', scope: 'notes:read notes:write' })))),
      ),
    status: 401,
    www: invalidToken(D.signature),
  },
];

useHostileStack(['endpoint'], { attacker: true });

hostileRows('Token shapes', ROWS);

describe('after the hostile rows', () => {
  it('no attacker-controlled key URL was ever fetched', () => {
    expect(attackerHits).toBe(0);
  });
});
