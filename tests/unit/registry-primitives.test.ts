import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry, RegistryError } from '@/lib/registry';
import { registry } from '@/tools';

/** The load-time refusals of tools (tests/unit/registry.test.ts), for resources and prompts. */
const resource = (overrides: Record<string, unknown>) => ({
  kind: 'resource',
  name: 'sample',
  uri: 'sample://{id}',
  title: 'Sample',
  description: 'A sample resource',
  access: 'public',
  read: () => undefined,
  ...overrides,
});
const prompt = (overrides: Record<string, unknown>) => ({
  kind: 'prompt',
  name: 'sample',
  title: 'Sample',
  description: 'A sample prompt',
  access: 'public',
  arguments: z.object({ topic: z.string() }),
  handler: () => ({ messages: [] }),
  ...overrides,
});

describe('registry checks at load: resources and prompts', () => {
  const cases: Array<[string, unknown[], RegExp]> = [
    [
      'resource without policy',
      [resource({ name: 'no_policy', access: undefined })],
      /resource "no_policy": has no access policy/,
    ],
    [
      'prompt without policy',
      [prompt({ name: 'no_policy', access: undefined })],
      /prompt "no_policy": has no access policy/,
    ],
    [
      'resource unknown policy key',
      [resource({ name: 'typo', access: { scope: ['a'] } })],
      /resource "typo": unknown policy key\(s\): scope/,
    ],
    [
      'prompt unknown policy key',
      [prompt({ name: 'typo', access: { org: 'required', role: 'x' } })],
      /prompt "typo": unknown policy key\(s\): role/,
    ],
    [
      'resource requiring nothing',
      [resource({ name: 'empty', access: {} })],
      /resource "empty": a non-public policy must require something/,
    ],
    [
      'prompt requiring nothing',
      [prompt({ name: 'empty', access: { scopes: [] } })],
      /prompt "empty": a non-public policy must require something/,
    ],
    ['resource invalid name', [resource({ name: 'Bad Name!' })], /resource "Bad Name!": invalid name/],
    ['prompt invalid name', [prompt({ name: 'Bad Name!' })], /prompt "Bad Name!": invalid name/],
    [
      'duplicate resource name',
      [resource({ uri: 'a://x' }), resource({ uri: 'b://x' })],
      /resource "sample": duplicate name/,
    ],
    [
      'duplicate resource URI',
      [resource({ name: 'one' }), resource({ name: 'two' })],
      /resource "sample:\/\/\{id\}": duplicate URI/,
    ],
    ['duplicate prompt name', [prompt({}), prompt({})], /prompt "sample": duplicate name/],
    ['invalid static URI', [resource({ name: 'bad_uri', uri: 'not a uri' })], /resource "bad_uri": invalid URI/],
    [
      'non-canonical static URI',
      [resource({ name: 'loose', uri: 'HTTPS://Example.com' })],
      /resource "loose": URI .* is not in its canonical form/,
    ],
    [
      'invalid URI template',
      [resource({ name: 'bad_template', uri: 'x://{unclosed' })],
      /resource "bad_template": invalid URI template/,
    ],
    [
      'completion for a missing variable',
      [resource({ name: 'c', complete: { other: () => [] } })],
      /resource "c": completion for "other"/,
    ],
    [
      'prompt completion for a missing argument',
      [prompt({ name: 'c', complete: { other: () => [] } })],
      /prompt "c": completion for "other"/,
    ],
    [
      'prompt audit field not an argument',
      [prompt({ name: 'leaky', audit: ['secret'] })],
      /prompt "leaky": audit field "secret"/,
    ],
    [
      'prompt arguments not a zod object',
      [prompt({ name: 'raw', arguments: { topic: 'string' } })],
      /prompt "raw": arguments/,
    ],
    ['resource without read', [resource({ name: 'no_read', read: undefined })], /resource "no_read": read/],
    ['unknown primitive kind', [{ kind: 'widget', name: 'w' }], /unknown primitive kind "widget"/],
  ];
  it.each(cases)('%s', (_name, definitions, message) => {
    expect(() => createRegistry(definitions)).toThrow(RegistryError);
    expect(() => createRegistry(definitions)).toThrow(message);
  });

  it('loads the shipped resource and prompt; their scopes count for scopes_supported', () => {
    for (const primitive of [...registry.resources, ...registry.prompts])
      if (typeof primitive.access === 'object')
        expect(registry.scopes()).toEqual(expect.arrayContaining([...(primitive.access.scopes ?? [])]));
    const fixture = createRegistry([
      resource({ access: { scopes: ['r:read'] } }),
      prompt({ access: { scopes: ['p:get'], org: 'required' } }),
    ]);
    expect(fixture.scopes()).toEqual(['p:get', 'r:read']);
    expect(registry.interactive).toBe(
      [...registry.tools, ...registry.resources, ...registry.prompts].some((p) => p.ask),
    );
    expect(fixture.interactive).toBe(false);
  });

  it('resolves a URI as the SDK does: the exact static URI first, then templates in order', () => {
    const fixture = createRegistry([
      resource({ name: 'template', uri: 'notes://{id}' }),
      resource({ name: 'fixed', uri: 'notes://index' }),
    ]);
    expect(fixture.resource('notes://index')?.definition.name).toBe('fixed');
    expect(fixture.resource('notes://abc')).toMatchObject({
      definition: { name: 'template' },
      variables: { id: 'abc' },
    });
    expect(fixture.resource('other://abc')).toBeUndefined();
    expect(fixture.resource('not a uri')).toBeUndefined();
    expect(fixture.declaredAt('notes://{id}')?.name).toBe('template');
    expect(fixture.declaredAt('notes://index')?.name).toBe('fixed');
    expect(fixture.declaredAt('notes://abc')).toBeUndefined();
  });
});
