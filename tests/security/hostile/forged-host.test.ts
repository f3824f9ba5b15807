import { D, type Row, anon, bearer, call, hostileRows, invalidToken, post, tok, useHostileStack } from './rows';

/**
 * The hostile matrix, forged Host / X-Forwarded-Host: resource_metadata and the audience come from configuration.
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: 'forged Host and X-Forwarded-Host, anonymous',
    on: 'endpoint',
    request: () =>
      post(call('member'), { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }),
    status: 401,
    www: anon(),
  },
  {
    name: "forged Host and a token for that host's /mcp",
    on: 'endpoint',
    request: async () =>
      post(call('member'), {
        host: 'evil.example',
        'x-forwarded-host': 'evil.example',
        ...bearer(await tok({ aud: 'http://evil.example/mcp' })),
      }),
    status: 401,
    www: invalidToken(D.audience),
  },
];

useHostileStack(['endpoint']);

hostileRows('Forged Host / X-Forwarded-Host: resource_metadata and the audience come from configuration', ROWS);
