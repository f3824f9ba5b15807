import { expect } from 'vitest';
import { header } from '../helpers';
import { D, type Row, bearer, call, hostileRows, invalidToken, issuer, post, tok, useHostileStack } from './rows';

/**
 * The hostile matrix, issuer.
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: 'foreign issuer',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iss: 'https://evil.authkit.app' }))),
    status: 401,
    www: invalidToken(D.issuer),
  },
  {
    name: 'issuer with a trailing slash',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iss: `${issuer.issuer}/` }))),
    status: 401,
    www: invalidToken(D.issuer),
  },
  {
    name: 'issuer in upper case',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iss: issuer.issuer.toUpperCase() }))),
    status: 401,
    www: invalidToken(D.issuer),
  },
  {
    name: 'issuer over https instead of http',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iss: issuer.issuer.replace('http:', 'https:') }))),
    status: 401,
    www: invalidToken(D.issuer),
  },
  {
    name: 'issuer with a path',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iss: `${issuer.issuer}/oauth2` }))),
    status: 401,
    www: invalidToken(D.issuer),
  },
  {
    name: 'issuer as an array',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iss: [issuer.issuer] }))),
    status: 401,
    www: invalidToken(D.issuer),
  },
  {
    name: 'issuer with quotes, backslash and CR/LF: the description stays fixed',
    on: 'endpoint',
    request: async () =>
      post(call('member'), bearer(await tok({ iss: 'x", error_description="pwned\\"\r\nSet-Cookie: a=b' }))),
    status: 401,
    www: invalidToken(D.issuer),
    check: (response) => expect(header(response, 'set-cookie')).toBeNull(),
  },
  {
    name: 'no issuer',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iss: undefined }))),
    status: 401,
    www: invalidToken(D.missing),
  },
];

useHostileStack(['endpoint']);

hostileRows('Issuer', ROWS);
