import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry, RegistryError } from '@/lib/registry';
import { registry } from '@/tools';

const tool = (overrides: Record<string, unknown>) => ({
  name: 'sample',
  title: 'Sample',
  description: 'A sample tool',
  access: 'public',
  input: z.object({ text: z.string() }),
  handler: () => ({ content: [] }),
  ...overrides,
});

describe('registry checks at load', () => {
  const cases: Array<[string, unknown[], RegExp]> = [
    ['missing policy', [tool({ name: 'no_policy', access: undefined })], /tool "no_policy": has no access policy/],
    [
      'unknown policy key',
      [tool({ name: 'typo', access: { scope: ['a'] } })],
      /tool "typo": unknown policy key\(s\): scope/,
    ],
    ['unknown policy string', [tool({ name: 'loose', access: 'private' })], /tool "loose": invalid access policy/],
    ['duplicate name', [tool({ name: 'twice' }), tool({ name: 'twice' })], /tool "twice": duplicate name/],
    ['invalid name', [tool({ name: 'Bad Name!' })], /tool "Bad Name!": invalid name/],
    [
      'non-public policy requiring nothing',
      [tool({ name: 'empty', access: {} })],
      /tool "empty": a non-public policy must require something/,
    ],
    [
      'empty scope list',
      [tool({ name: 'empty_scopes', access: { scopes: [] } })],
      /tool "empty_scopes": a non-public policy must require something/,
    ],
    [
      'invalid scope token',
      [tool({ name: 'bad_scope', access: { scopes: ['has space'] } })],
      /tool "bad_scope": invalid access policy/,
    ],
    ['audit field not in input', [tool({ name: 'leaky', audit: ['secret'] })], /tool "leaky": audit field "secret"/],
    ['input not a zod object', [tool({ name: 'raw', input: { text: 'string' } })], /tool "raw": input/],
  ];
  it.each(cases)('%s', (_name, tools, message) => {
    expect(() => createRegistry(tools)).toThrow(RegistryError);
    expect(() => createRegistry(tools)).toThrow(message);
  });

  it('loads the shipped tools and derives scopes_supported from their policies', () => {
    expect(registry.tools.length).toBeGreaterThan(0);
    const fixture = createRegistry([
      tool({ name: 'a', access: { scopes: ['notes:write', 'notes:read'] } }),
      tool({ name: 'b', access: { scopes: ['notes:read'], org: 'required' } }),
    ]);
    expect(fixture.scopes()).toEqual(['notes:read', 'notes:write']);
  });
});

describe('scope hierarchy checks at load (SEP-2350)', () => {
  const tools = [
    tool({ name: 'reader', access: { scopes: ['notes:read'] } }),
    tool({ name: 'writer', access: { scopes: ['notes:write'] } }),
  ];
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a scope implying itself', { 'notes:read': ['notes:read'] }, /scope hierarchy: cycle: notes:read -> notes:read/],
    [
      'a two-scope cycle',
      { 'notes:admin': ['notes:write'], 'notes:write': ['notes:admin'] },
      /scope hierarchy: cycle: notes:admin -> notes:write -> notes:admin/,
    ],
    [
      'a longer cycle',
      { 'a:1': ['a:2'], 'a:2': ['a:3'], 'a:3': ['notes:read', 'a:1'] },
      /scope hierarchy: cycle: a:1 -> a:2 -> a:3 -> a:1/,
    ],
    [
      'an implied scope no tool requires and the hierarchy does not declare',
      { 'notes:admin': ['notes:read', 'notes:delete'] },
      /"notes:admin" implies unknown scope "notes:delete"/,
    ],
    ['a scope implying nothing', { 'notes:admin': [] }, /"notes:admin" implies nothing/],
    ['offline_access implying', { offline_access: ['notes:read'] }, /"offline_access" requests a refresh token/],
    ['offline_access implied', { 'notes:admin': ['offline_access'] }, /"offline_access" requests a refresh token/],
    [
      'an invalid scope token as key',
      { 'has space': ['notes:read'] },
      /scope hierarchy: .*not a valid OAuth scope token/,
    ],
    ['an invalid implied scope token', { 'notes:admin': ['a"b'] }, /scope hierarchy: .*not a valid OAuth scope token/],
    ['implied scopes not a list', { 'notes:admin': 'notes:read' }, /scope hierarchy: notes:admin/],
  ];
  it.each(cases)('refuses %s', (_name, scopeHierarchy, message) => {
    const load = () => createRegistry(tools, { scopeHierarchy: scopeHierarchy as Record<string, string[]> });
    expect(load).toThrow(RegistryError);
    expect(load).toThrow(message);
  });

  it('accepts a chain and a diamond, and adds the implying scopes to scopes_supported', () => {
    const loaded = createRegistry(tools, {
      scopeHierarchy: { 'notes:admin': ['notes:editor', 'notes:read'], 'notes:editor': ['notes:write', 'notes:read'] },
    });
    expect(loaded.scopes()).toEqual(['notes:admin', 'notes:editor', 'notes:read', 'notes:write']);
    expect(Object.isFrozen(loaded.scopeHierarchy)).toBe(true);
  });

  it('refuses a tool that requires offline_access (it grants nothing on this resource)', () => {
    expect(() => createRegistry([tool({ name: 'refresh', access: { scopes: ['offline_access'] } })])).toThrow(
      /tool "refresh": "offline_access" requests a refresh token/,
    );
  });

  it('the shipped hierarchy names only scopes the shipped primitives require, and they are advertised', () => {
    for (const [scope, implied] of Object.entries(registry.scopeHierarchy))
      expect(registry.scopes()).toEqual(expect.arrayContaining([scope, ...implied]));
  });
});

/** The load-time refusals of tools (above), for resources and prompts. */
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
