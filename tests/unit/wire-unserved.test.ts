import { describe, expect, it } from 'vitest';
import { parseEnvelope } from '../../lib/wire/envelope';
import { unservedMethod } from '../../lib/wire/unserved';

describe('unservedMethod', () => {
  it.each([
    [{ jsonrpc: '2.0', id: 1, method: 'subscriptions/listen', params: {} }, 'modern', 404],
    [{ jsonrpc: '2.0', id: 1, method: 'subscriptions/listen' }, 'legacy', 200],
  ] as const)('refuses %o on the %s wire with %i', (message, era, status) => {
    expect(unservedMethod(parseEnvelope(message, null), era)).toMatchObject({
      status,
      code: -32601,
      reason: 'subscriptions_unsupported',
    });
  });

  it.each([
    [{ method: 'tools/list' }],
    [{ method: 'constructor' }],
    [[{ method: 'subscriptions/listen' }]],
    [null],
    ['subscriptions/listen'],
  ])('lets %o through', (message) => expect(unservedMethod(parseEnvelope(message, null), 'modern')).toBeUndefined());
});
