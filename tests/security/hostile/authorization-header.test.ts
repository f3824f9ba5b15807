import { INVALID_REQUEST, type Row, anon, call, hostileRows, post, tok, useHostileStack } from './rows';

/**
 * The hostile matrix, authorization header: missing, empty, repeated, other schemes.
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: 'no Authorization, scoped tool',
    on: 'endpoint',
    request: () => post(call('notes_read')),
    status: 401,
    www: anon('notes:read'),
  },
  {
    name: 'no Authorization, signed-in tool',
    on: 'endpoint',
    request: () => post(call('member')),
    status: 401,
    www: anon(),
  },
  {
    name: 'empty Authorization value',
    on: 'endpoint',
    request: () => post(call('open'), { authorization: '' }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: '"Bearer" without a token',
    on: 'endpoint',
    request: () => post(call('open'), { authorization: 'Bearer' }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: '"Bearer" and only spaces',
    on: 'endpoint',
    request: () => post(call('open'), { authorization: 'Bearer     ' }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'Basic credentials',
    on: 'endpoint',
    request: () => post(call('open'), { authorization: 'Basic dXNlcjpwYXNz' }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'DPoP scheme with a valid token',
    on: 'endpoint',
    request: async () => post(call('member'), { authorization: `DPoP ${await tok()}` }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: '"Token" scheme with a valid token',
    on: 'endpoint',
    request: async () => post(call('member'), { authorization: `Token ${await tok()}` }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'two tokens in one header',
    on: 'endpoint',
    request: async () => post(call('member'), { authorization: `Bearer ${await tok()}, Bearer ${await tok()}` }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'two Authorization header lines',
    on: 'endpoint',
    request: async () => post(call('member'), { authorization: [`Bearer ${await tok()}`, `Bearer ${await tok()}`] }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'Bearer<TAB>token',
    on: 'endpoint',
    request: async () => post(call('member'), { authorization: `Bearer\t${await tok()}` }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'token followed by a second word',
    on: 'endpoint',
    request: async () => post(call('member'), { authorization: `Bearer ${await tok()} admin` }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'valid token only in X-Authorization / Proxy-Authorization: ignored (anonymous)',
    on: 'endpoint',
    request: async () =>
      post(call('member'), {
        'x-authorization': `Bearer ${await tok()}`,
        'proxy-authorization': `Bearer ${await tok()}`,
      }),
    status: 401,
    www: anon(),
  },
];

useHostileStack(['endpoint']);

hostileRows('Authorization header: missing, empty, repeated, other schemes', ROWS);
