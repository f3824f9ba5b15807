import { describe, expect, it } from 'vitest';
import { header, rawRequest } from '../helpers';
import { type Row, bearer, call, hostileRows, post, ran, servers, stepUp, tok, useHostileStack } from './rows';

/**
 * The hostile matrix, look-alike scopes (a valid token; exact comparison).
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: 'scope NOTES:READ',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: 'NOTES:READ' }))),
    status: 403,
    www: stepUp('NOTES:READ notes:read'),
  },
  {
    name: 'scope notes:readx',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: 'notes:readx' }))),
    status: 403,
    www: stepUp('notes:read notes:readx'),
  },
  {
    name: 'scope notes:* (no wildcards)',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: 'notes:*' }))),
    status: 403,
    www: stepUp('notes:* notes:read'),
  },
  // Cyrillic а (U+0430): not a scope-token, so it is dropped from the challenge instead of echoed.
  {
    name: 'scope with a Cyrillic homoglyph',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: 'notes:re\u0430d' }))),
    status: 403,
    www: stepUp('notes:read'),
  },
  {
    name: 'scope notes:read<TAB>',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: 'notes:read\t' }))),
    status: 403,
    www: stepUp('notes:read'),
  },
  {
    name: 'scope notes:read<NBSP>',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: 'notes:read\u00a0' }))),
    status: 403,
    www: stepUp('notes:read'),
  },
  {
    name: 'granted scopes with CR/LF, quotes and backslashes never reach the header',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: 'openid\r\nSet-Cookie:x a"b c\\d' }))),
    status: 403,
    www: stepUp('notes:read'),
    check: (response) => expect(header(response, 'set-cookie')).toBeNull(),
  },
  {
    name: 'notes:read only, for a tool needing notes:write too',
    on: 'endpoint',
    request: async () => post(call('notes_write'), bearer(await tok({ scope: 'notes:read' }))),
    status: 403,
    www: stepUp('notes:read notes:write'),
  },
];

useHostileStack(['endpoint']);

hostileRows('Look-alike scopes (a valid token; exact comparison)', ROWS);

describe('after the hostile rows', () => {
  it('a trailing space in the scope claim is a delimiter (RFC 6749 §3.3): "notes:read " grants notes:read, nothing else', async () => {
    ran.length = 0;
    const read = await rawRequest(
      servers.endpoint!.url,
      post(call('notes_read'), bearer(await tok({ scope: 'notes:read ' }))),
    );
    expect(read.status).toBe(200);
    const write = await rawRequest(
      servers.endpoint!.url,
      post(call('notes_write'), bearer(await tok({ scope: 'notes:read ' }))),
    );
    expect(write.status).toBe(403);
    expect(ran).toEqual([{ tool: 'notes_read' }]);
  });
});
