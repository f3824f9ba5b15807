import { describe, expect, it } from 'vitest';
import { type Envelope, isPlainObject, parseEnvelope } from '@/lib/wire/envelope';

/**
 * The envelope grammar (lib/wire/envelope.ts): what parseEnvelope reads from one POST's parsed body
 * and its MCP-Protocol-Version header, which every later stage (wire checks, batch refusal, gate,
 * membership planner, audit) takes instead of probing the body again. One table per question: the
 * shape of the whole message, then each call's name, notification flag, wellFormed and boundParams.
 */

/** The fields of an envelope a table row states (methods as a sorted list). */
const summary = (envelope: Envelope) => ({
  batch: envelope.batch,
  size: envelope.size,
  id: envelope.id,
  method: envelope.method,
  methods: [...envelope.methods].sort(),
  calls: envelope.calls.length,
});

const toolCall = (id: unknown, params: unknown = { name: 'open', arguments: {} }) => ({
  jsonrpc: '2.0',
  ...(id === undefined ? {} : { id }),
  method: 'tools/call',
  params,
});

describe('the message as a whole', () => {
  const rows: Array<[string, unknown, ReturnType<typeof summary>]> = [
    [
      'a single request',
      toolCall(7),
      { batch: false, size: 1, id: 7, method: 'tools/call', methods: ['tools/call'], calls: 1 },
    ],
    [
      'a single request with a string id',
      { jsonrpc: '2.0', id: 'abc', method: 'tools/list' },
      { batch: false, size: 1, id: 'abc', method: 'tools/list', methods: ['tools/list'], calls: 0 },
    ],
    [
      'a single request whose id is an object: no id',
      { jsonrpc: '2.0', id: { $gt: 0 }, method: 'ping' },
      { batch: false, size: 1, id: null, method: 'ping', methods: ['ping'], calls: 0 },
    ],
    [
      'a notification (no id member)',
      toolCall(undefined),
      { batch: false, size: 1, id: null, method: 'tools/call', methods: ['tools/call'], calls: 1 },
    ],
    [
      'a batch: requests, a notification and a list call',
      [toolCall(1), toolCall(undefined), { jsonrpc: '2.0', id: 3, method: 'tools/list' }],
      { batch: true, size: 3, id: null, method: 'batch', methods: ['tools/call', 'tools/list'], calls: 2 },
    ],
    [
      'a batch holding non-objects and a nested batch: counted, not read',
      [42, 'x', null, [toolCall(1)], toolCall(2)],
      { batch: true, size: 5, id: null, method: 'batch', methods: ['tools/call'], calls: 1 },
    ],
    ['an empty batch', [], { batch: true, size: 0, id: null, method: 'batch', methods: [], calls: 0 }],
    ['a number', 42, { batch: false, size: 1, id: null, method: undefined, methods: [], calls: 0 }],
    ['a string', 'tools/call', { batch: false, size: 1, id: null, method: undefined, methods: [], calls: 0 }],
    ['null', null, { batch: false, size: 1, id: null, method: undefined, methods: [], calls: 0 }],
    [
      'unparsable (the endpoint hands over undefined)',
      undefined,
      { batch: false, size: 1, id: null, method: undefined, methods: [], calls: 0 },
    ],
    [
      'an object without a method',
      { jsonrpc: '2.0', id: 1, params: { name: 'open' } },
      { batch: false, size: 1, id: 1, method: undefined, methods: [], calls: 0 },
    ],
    [
      'a method that is not a string',
      { jsonrpc: '2.0', id: 1, method: 42 },
      { batch: false, size: 1, id: 1, method: undefined, methods: [], calls: 0 },
    ],
    [
      'a method name past 64 characters: cut for the audit, whole in methods',
      { jsonrpc: '2.0', id: 1, method: 'm'.repeat(80) },
      { batch: false, size: 1, id: 1, method: 'm'.repeat(64), methods: ['m'.repeat(80)], calls: 0 },
    ],
  ];
  it.each(rows)('%s', (_name, message, expected) => {
    const envelope = parseEnvelope(message, '2025-11-25');
    expect(summary(envelope)).toEqual(expected);
    expect(envelope.message).toBe(message);
  });

  it('only the four call methods are calls; other methods are only named', () => {
    const envelope = parseEnvelope(
      [
        { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} },
        { jsonrpc: '2.0', id: 2, method: 'tools/list' },
        { jsonrpc: '2.0', id: 3, method: 'resources/templates/list' },
        { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'a' } },
        { jsonrpc: '2.0', id: 5, method: 'resources/read', params: { uri: 'notes://1' } },
        { jsonrpc: '2.0', id: 6, method: 'prompts/get', params: { name: 'p' } },
        { jsonrpc: '2.0', id: 7, method: 'completion/complete', params: {} },
      ],
      null,
    );
    expect(envelope.calls.map((call) => [call.method, call.id])).toEqual([
      ['tools/call', 4],
      ['resources/read', 5],
      ['prompts/get', 6],
      ['completion/complete', 7],
    ]);
    expect(envelope.methods.size).toBe(7);
  });
});

describe('the revision', () => {
  it.each([
    ['2025-11-25', '2025-11-25'],
    [' 2026-07-28\t', '2026-07-28'],
    ['', ''],
    [null, null],
  ])('header %j reads as %j', (header, revision) => {
    expect(parseEnvelope(toolCall(1), header).revision).toBe(revision);
  });
});

describe('each call', () => {
  it('a request: its id, not a notification', () => {
    expect(parseEnvelope(toolCall('r-1'), null).calls[0]).toMatchObject({
      method: 'tools/call',
      id: 'r-1',
      notification: false,
      name: 'open',
    });
  });

  it.each([
    ['no id member', toolCall(undefined), true, null],
    ['id null', toolCall(null), false, null],
    ['id 0', toolCall(0), false, 0],
    ['an object id', toolCall({ x: 1 }), false, null],
  ])('%s: notification %s, id %j', (_name, message, notification, id) => {
    expect(parseEnvelope(message, null).calls[0]).toMatchObject({ notification, id });
  });

  const prompt = (params: unknown) => ({ jsonrpc: '2.0', id: 1, method: 'prompts/get', params });
  const read = (params: unknown) => ({ jsonrpc: '2.0', id: 1, method: 'resources/read', params });
  const complete = (params: unknown) => ({ jsonrpc: '2.0', id: 1, method: 'completion/complete', params });
  const argument = { name: 'topic', value: 'x' };

  const rows: Array<[string, unknown, { name?: string; ref?: string; wellFormed: boolean; arguments?: unknown }]> = [
    [
      'tools/call with object arguments',
      toolCall(1, { name: 't', arguments: { a: 1 } }),
      { name: 't', wellFormed: true },
    ],
    ['tools/call without arguments', toolCall(1, { name: 't' }), { name: 't', wellFormed: true, arguments: undefined }],
    ['tools/call with null arguments', toolCall(1, { name: 't', arguments: null }), { name: 't', wellFormed: false }],
    ['tools/call with array arguments', toolCall(1, { name: 't', arguments: [] }), { name: 't', wellFormed: false }],
    ['tools/call with string arguments', toolCall(1, { name: 't', arguments: '{}' }), { name: 't', wellFormed: false }],
    ['tools/call with a numeric name', toolCall(1, { name: 42, arguments: {} }), { wellFormed: false }],
    ['tools/call without params', { jsonrpc: '2.0', id: 1, method: 'tools/call' }, { wellFormed: false }],
    ['tools/call with params as an array', toolCall(1, ['open']), { wellFormed: false }],
    ['tools/call with params null', toolCall(1, null), { wellFormed: false }],
    ['prompts/get without arguments', prompt({ name: 'p' }), { name: 'p', wellFormed: true }],
    [
      'prompts/get with string arguments',
      prompt({ name: 'p', arguments: { topic: 'x' } }),
      { name: 'p', wellFormed: true },
    ],
    [
      'prompts/get with a number argument',
      prompt({ name: 'p', arguments: { n: 1 } }),
      { name: 'p', wellFormed: false },
    ],
    ['prompts/get with array arguments', prompt({ name: 'p', arguments: ['x'] }), { name: 'p', wellFormed: false }],
    ['prompts/get without a name', prompt({ arguments: {} }), { wellFormed: false }],
    [
      'resources/read of a URI',
      read({ uri: 'notes://1' }),
      { name: 'notes://1', wellFormed: true, arguments: undefined },
    ],
    ['resources/read without a URI', read({ name: 'notes://1' }), { wellFormed: false }],
    [
      'completion of a prompt argument',
      complete({ ref: { type: 'ref/prompt', name: 'p' }, argument }),
      { name: 'p', ref: 'prompt', wellFormed: true, arguments: argument },
    ],
    [
      'completion of a resource template variable',
      complete({ ref: { type: 'ref/resource', uri: 'notes://{id}' }, argument }),
      { name: 'notes://{id}', ref: 'resource', wellFormed: true },
    ],
    [
      'completion naming a prompt by uri',
      complete({ ref: { type: 'ref/prompt', uri: 'p' }, argument }),
      { ref: 'prompt', wellFormed: false },
    ],
    [
      'completion with an unknown reference type',
      complete({ ref: { type: 'ref/tool', name: 't' }, argument }),
      { wellFormed: false },
    ],
    [
      'completion with a number as the value',
      complete({ ref: { type: 'ref/prompt', name: 'p' }, argument: { name: 'topic', value: 1 } }),
      { name: 'p', ref: 'prompt', wellFormed: false },
    ],
    [
      'completion without an argument',
      complete({ ref: { type: 'ref/prompt', name: 'p' } }),
      { name: 'p', ref: 'prompt', wellFormed: false, arguments: undefined },
    ],
  ];
  it.each(rows)('%s', (_name, message, expected) => {
    const [call] = parseEnvelope(message, null).calls;
    expect(call).toBeDefined();
    expect({ name: call?.name, ref: call?.ref, wellFormed: call?.wellFormed }).toEqual({
      name: expected.name,
      ref: expected.ref,
      wellFormed: expected.wellFormed,
    });
    if ('arguments' in expected) expect(call?.arguments).toEqual(expected.arguments);
  });
});

describe('boundParams: what a request state is bound to', () => {
  it.each([
    ['params as sent', { name: 't', arguments: { a: 1 } }, { name: 't', arguments: { a: 1 } }],
    [
      'without _meta, inputResponses and requestState',
      { name: 't', arguments: {}, _meta: { x: 1 }, inputResponses: { q: {} }, requestState: 'opaque' },
      { name: 't', arguments: {} },
    ],
    ['empty without params', undefined, {}],
    ['empty when params is not an object', ['t'], {}],
  ])('%s', (_name, params, bound) => {
    const message = params === undefined ? { jsonrpc: '2.0', id: 1, method: 'tools/call' } : toolCall(1, params);
    expect(parseEnvelope(message, null).calls[0]?.boundParams).toEqual(bound);
  });

  it('is a copy: changing it changes nothing in the message', () => {
    const message = toolCall(1, { name: 't', arguments: {} });
    const [call] = parseEnvelope(message, null).calls;
    (call?.boundParams as Record<string, unknown>).name = 'other';
    expect(message.params).toEqual({ name: 't', arguments: {} });
  });
});

describe('isPlainObject', () => {
  it.each([
    [{}, true],
    [{ a: 1 }, true],
    [Object.create(null), true],
    [[], false],
    [null, false],
    [undefined, false],
    ['{}', false],
    [42, false],
  ])('%j -> %s', (value, expected) => {
    expect(isPlainObject(value)).toBe(expected);
  });
});
