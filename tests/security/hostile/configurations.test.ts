import { type Row, anon, bearer, call, hostileRows, post, tok, useHostileStack } from './rows';

/**
 * The hostile matrix, other configurations.
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: 'MCP_AUTH_REQUIRED: anonymous call to the public tool',
    on: 'required',
    request: () => post(call('open')),
    status: 401,
    www: anon(),
  },
  {
    name: 'MCP_AUTH_REQUIRED: anonymous initialize',
    on: 'required',
    request: () =>
      post({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    status: 401,
    www: anon(),
  },
  {
    name: 'ALLOWED_CLIENT_IDS: unapproved client on the public tool',
    on: 'clients',
    request: async () => post(call('open'), bearer(await tok({ client_id: 'client_rogue' }))),
    status: 403,
    www: null,
  },
  {
    name: 'ALLOWED_CLIENT_IDS: no client_id claim',
    on: 'clients',
    request: async () => post(call('open'), bearer(await tok({ client_id: undefined }))),
    status: 403,
    www: null,
  },
];

useHostileStack(['required', 'clients']);

hostileRows('Other configurations', ROWS);
