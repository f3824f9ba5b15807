import { describe, expect, it } from 'vitest';
import { header, rawRequest } from '../helpers';
import {
  type Row,
  bearer,
  call,
  hostileRows,
  jwksIssuer,
  jwksToken,
  post,
  ran,
  servers,
  useHostileStack,
} from './rows';

/**
 * The hostile matrix, JWKS unavailable: fail closed.
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: 'JWKS down: 503 with Retry-After',
    on: 'jwks',
    before: () => jwksIssuer.setMode('down'),
    request: async () => post(call('open'), bearer(await jwksToken())),
    status: 503,
    www: null,
    check: (r) => expect(header(r, 'retry-after')).toBe('10'),
  },
  {
    name: 'JWKS answers garbage: 503',
    on: 'jwks',
    before: () => jwksIssuer.setMode('garbage'),
    request: async () => post(call('open'), bearer(await jwksToken())),
    status: 503,
    www: null,
    check: (r) => expect(header(r, 'retry-after')).toBe('10'),
  },
  {
    name: 'JWKS slower than the 5 s timeout: 503',
    on: 'jwks',
    before: () => jwksIssuer.setMode('slow'),
    request: async () => post(call('member'), bearer(await jwksToken())),
    status: 503,
    www: null,
    check: (r) => {
      expect(header(r, 'retry-after')).toBe('10');
      expect(r.ms).toBeLessThan(6_500);
    },
  },
];

useHostileStack(['jwks']);

hostileRows('JWKS unavailable: fail closed', ROWS);

describe('after the hostile rows', () => {
  it('the JWKS endpoint recovers: the same token works once the key set is back', async () => {
    jwksIssuer.setMode('up');
    ran.length = 0;
    const fetchesBefore = jwksIssuer.jwksFetches();
    const response = await rawRequest(servers.jwks!.url, post(call('member'), bearer(await jwksToken())));
    expect(response.status).toBe(200);
    expect(ran).toEqual([{ tool: 'member' }]);
    expect(jwksIssuer.jwksFetches()).toBe(fetchesBefore + 1);
  });
});
