import { describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers';
import {
  D,
  EXTRA_AUDIENCE,
  type Row,
  bearer,
  call,
  hostileRows,
  idToken,
  invalidToken,
  post,
  ran,
  servers,
  tok,
  useHostileStack,
} from './rows';

/**
 * The hostile matrix, ID tokens and other JWTs of the same issuer are not access tokens.
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: 'extra audience: an ID token (aud = client id, nonce, profile claims, no jti, no typ)',
    on: 'extra',
    request: async () => post(call('member'), bearer(await idToken())),
    status: 401,
    www: invalidToken(D.missing), // jose's required-claim check (jti) speaks first
  },
  {
    name: 'extra audience: ID token with jti and typ JWT but a nonce',
    on: 'extra',
    request: async () => post(call('member'), bearer(await idToken({ jti: crypto.randomUUID() }, { typ: 'JWT' }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'extra audience: ID token with jti, without nonce, with at_hash',
    on: 'extra',
    request: async () =>
      post(
        call('member'),
        bearer(await idToken({ jti: crypto.randomUUID(), nonce: undefined, at_hash: 'x3bKQW0qVhZqLCDmDS1pKw' })),
      ),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'extra audience: ID token with jti, no nonce, no hashes, but email claims',
    on: 'extra',
    request: async () => post(call('member'), bearer(await idToken({ jti: crypto.randomUUID(), nonce: undefined }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'extra audience: ID token with only the registered claims (no jti)',
    on: 'extra',
    request: async () =>
      post(
        call('member'),
        bearer(
          await idToken({
            nonce: undefined,
            name: undefined,
            given_name: undefined,
            family_name: undefined,
            email: undefined,
            email_verified: undefined,
          }),
        ),
      ),
    status: 401,
    www: invalidToken(D.missing),
  },
  {
    name: 'resource audience with a nonce',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ nonce: 'n-0S6_WzA2Mj' }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'resource audience with at_hash',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ at_hash: 'x3bKQW0qVhZqLCDmDS1pKw' }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'resource audience with c_hash',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ c_hash: 'LDktKdoQak3Pk0cnXxCltA' }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'typ logout+jwt',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { header: { typ: 'logout+jwt' } }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'typ secevent+jwt',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { header: { typ: 'secevent+jwt' } }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'typ dpop+jwt',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { header: { typ: 'dpop+jwt' } }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },
];

useHostileStack(['endpoint', 'extra']);

hostileRows('ID tokens and other JWTs of the same issuer are not access tokens', ROWS);

describe('after the hostile rows', () => {
  it('extra audience: an access token for the client-id audience (jti, sid, typ JWT or at+jwt) still passes', async () => {
    for (const typ of ['JWT', 'at+jwt', 'application/at+jwt', undefined]) {
      ran.length = 0;
      const token = await tok(
        { aud: EXTRA_AUDIENCE, sid: 'app_consent_01', client_id: undefined },
        { header: { typ } },
      );
      const response = await rawRequest(servers.extra!.url, post(call('member'), bearer(token)));
      expect(response.status, `typ ${typ}: ${response.text.slice(0, 200)}`).toBe(200);
      expect(ran).toEqual([{ tool: 'member' }]);
    }
  });
});
