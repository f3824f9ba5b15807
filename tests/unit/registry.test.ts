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
    expect(registry.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['ping', 'whoami']));
    const fixture = createRegistry([
      tool({ name: 'a', access: { scopes: ['notes:write', 'notes:read'] } }),
      tool({ name: 'b', access: { scopes: ['notes:read'], org: 'required' } }),
    ]);
    expect(fixture.scopes()).toEqual(['notes:read', 'notes:write']);
  });
});
