import { INVALID_REQUEST, type Row, anon, bearer, call, hostileRows, post, tok, useHostileStack } from './rows';

/**
 * The hostile matrix, tokens anywhere but the Authorization header.
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: '?access_token= in the query string',
    on: 'endpoint',
    request: async () => post(call('member'), {}, `/mcp?access_token=${await tok()}`),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: '?access_token= next to a valid header token',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok()), `/mcp?access_token=${await tok()}`),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: '?ACCESS_TOKEN= (another parameter): ignored, anonymous',
    on: 'endpoint',
    request: async () => post(call('member'), {}, `/mcp?ACCESS_TOKEN=${await tok()}`),
    status: 401,
    www: anon(),
  },
  {
    name: 'top-level access_token in the JSON body: anonymous',
    on: 'endpoint',
    request: async () => post({ ...call('notes_read'), access_token: await tok({ scope: 'notes:read' }) }),
    status: 401,
    www: anon('notes:read'),
  },
  {
    name: 'token in params._meta: anonymous',
    on: 'endpoint',
    request: async () => {
      const token = await tok({ scope: 'notes:read' });
      const message = call('notes_read');
      return post({
        ...message,
        params: { ...message.params, _meta: { access_token: token, authorization: `Bearer ${token}` } },
      });
    },
    status: 401,
    www: anon('notes:read'),
  },
  {
    name: 'token in the tool arguments: anonymous',
    on: 'endpoint',
    request: async () => post(call('member', { access_token: await tok() })),
    status: 401,
    www: anon(),
  },
  {
    name: 'token in a cookie: anonymous',
    on: 'endpoint',
    request: async () =>
      post(call('member'), { cookie: `access_token=${await tok()}; authorization=Bearer%20${await tok()}` }),
    status: 401,
    www: anon(),
  },
];

useHostileStack(['endpoint']);

hostileRows('Tokens anywhere but the Authorization header', ROWS);
