import { D, type Row, bearer, call, hostileRows, invalidToken, post, tok, useHostileStack } from './rows';

/**
 * The hostile matrix, invalid token on a public tool or a non-tool request: never anonymous.
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: 'expired token on the public tool',
    on: 'endpoint',
    request: async () => post(call('open'), bearer(await tok({}, { expiresIn: -300 }))),
    status: 401,
    www: invalidToken(D.expired),
  },
  {
    name: 'foreign-audience token on the public tool',
    on: 'endpoint',
    request: async () => post(call('open'), bearer(await tok({ aud: 'https://other-mcp.example.test/mcp' }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'invalid token on tools/list',
    on: 'endpoint',
    request: () => post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, bearer('a.b.c')),
    status: 401,
    www: invalidToken(D.malformed),
  },
];

useHostileStack(['endpoint']);

hostileRows('Invalid token on a public tool or a non-tool request: never anonymous', ROWS);
