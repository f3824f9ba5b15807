import { describe, expect, it } from 'vitest';
import { nowSeconds, rawRequest, rs256Raw } from '../helpers';
import {
  D,
  type Row,
  bearer,
  call,
  claimsNow,
  hostileRows,
  invalidToken,
  issuer,
  json,
  post,
  ran,
  servers,
  tok,
  useHostileStack,
} from './rows';

/**
 * The hostile matrix, time and required claims.
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: 'no exp',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { omit: ['exp'] }))),
    status: 401,
    www: invalidToken(D.missing),
  },
  {
    name: 'exp in the past (beyond the 30 s tolerance)',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { expiresIn: -60 }))),
    status: 401,
    www: invalidToken(D.expired),
  },
  {
    name: 'exp as a string',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ exp: String(nowSeconds() + 300) }))),
    status: 401,
    www: invalidToken(D.claim),
  },
  {
    name: 'exp = 1e400 (Infinity after JSON.parse)',
    on: 'endpoint',
    request: async () =>
      post(
        call('member'),
        bearer(
          await rs256Raw(
            issuer.privateKey,
            { alg: 'RS256', kid: issuer.kid },
            json(claimsNow()).replace(/"exp":\d+/, '"exp":1e400'),
          ),
        ),
      ),
    status: 401,
    www: invalidToken(D.claim),
  },
  {
    name: 'nbf an hour in the future',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ nbf: nowSeconds() + 3600 }))),
    status: 401,
    www: invalidToken(D.notYet),
  },
  {
    name: 'no iat',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { omit: ['iat'] }))),
    status: 401,
    www: invalidToken(D.missing),
  },
  {
    name: 'iat as a string',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iat: 'yesterday' }))),
    status: 401,
    www: invalidToken(D.claim),
  },
  {
    name: 'no sub',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { omit: ['sub'] }))),
    status: 401,
    www: invalidToken(D.missing),
  },
  {
    name: 'empty sub',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ sub: '' }))),
    status: 401,
    www: invalidToken(D.claim),
  },
  {
    name: 'lifetime of one year',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { expiresIn: 365 * 86_400 }))),
    status: 401,
    www: invalidToken(D.lifetime),
  },
  {
    name: 'lifetime of 24 h + 1 s',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { expiresIn: 86_401 }))),
    status: 401,
    www: invalidToken(D.lifetime),
  },
  {
    name: 'issued a year ago, still unexpired',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iat: nowSeconds() - 365 * 86_400 }))),
    status: 401,
    www: invalidToken(D.lifetime),
  },
  {
    name: 'iat ten years in the future',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iat: nowSeconds() + 10 * 365 * 86_400 }))),
    status: 401,
    www: invalidToken(D.future),
  },
  {
    name: 'iat an hour in the future, exp two hours ahead',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iat: nowSeconds() + 3600 }, { expiresIn: 7200 }))),
    status: 401,
    www: invalidToken(D.future),
  },
  {
    name: 'nbf as a string',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ nbf: String(nowSeconds()) }))),
    status: 401,
    www: invalidToken(D.claim),
  },
  {
    name: 'nbf a minute in the future (beyond the 30 s tolerance)',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ nbf: nowSeconds() + 60 }))),
    status: 401,
    www: invalidToken(D.notYet),
  },
  {
    name: 'no jti (RFC 9068 requires it; AuthKit ID tokens have none)',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ jti: undefined }))),
    status: 401,
    www: invalidToken(D.missing),
  },
  {
    name: 'scope as an array',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: ['notes:read'] }))),
    status: 401,
    www: invalidToken(D.claim),
  },
];

useHostileStack(['endpoint']);

hostileRows('Time and required claims', ROWS);

describe('after the hostile rows', () => {
  it('time claims inside the limits pass: a 24 h lifetime, nbf in the past, nbf and iat within the 30 s tolerance', async () => {
    const now = nowSeconds();
    const tokens = [
      await tok({ iat: now, exp: now + 86_400 }),
      await tok({ nbf: now - 600 }),
      await tok({ nbf: now + 10 }),
      await tok({ iat: now + 10, exp: now + 300 }),
    ];
    for (const token of tokens) {
      ran.length = 0;
      const response = await rawRequest(servers.endpoint!.url, post(call('member'), bearer(token)));
      expect(response.status, response.text.slice(0, 200)).toBe(200);
      expect(ran).toEqual([{ tool: 'member' }]);
    }
  });
});
