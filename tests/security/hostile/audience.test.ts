import { D, RESOURCE, type Row, bearer, call, hostileRows, invalidToken, post, tok, useHostileStack } from './rows';

/**
 * The hostile matrix, audience.
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: 'audience with a trailing slash',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: `${RESOURCE}/` }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'audience on another port',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: 'https://mcp.example.test:8443/mcp' }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'audience over http instead of https',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: 'http://mcp.example.test/mcp' }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'audience = origin only (path prefix)',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: 'https://mcp.example.test' }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'audience with a longer path',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: `${RESOURCE}/admin` }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'audience with an upper-case host',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: 'https://MCP.example.test/mcp' }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'token for another resource',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: 'https://other-mcp.example.test/mcp' }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'audience = an OAuth client id',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: 'client_01HXYZ' }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'audience array without this resource',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: ['https://a.example/mcp', `${RESOURCE}/`] }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'no audience',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: undefined }))),
    status: 401,
    www: invalidToken(D.missing),
  },
];

useHostileStack(['endpoint']);

hostileRows('Audience', ROWS);
