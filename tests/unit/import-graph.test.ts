import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The framework's shape: lib/ imports nothing from the example tools, the development scripts or
 * the app, and no module of lib/ reaches itself again through its imports.
 */
const ROOT = join(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/g;

/** Repository-relative targets of a file's imports that are ours (relative or @/ paths). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const targets: string[] = [];
  for (const [, spec] of text.matchAll(IMPORT)) {
    if (!spec) continue;
    const base = spec.startsWith('@/')
      ? join(ROOT, spec.slice(2))
      : spec.startsWith('.')
        ? join(dirname(file), spec)
        : '';
    if (!base) continue;
    const candidates = [`${base}.ts`, join(base, 'index.ts'), base];
    const found = candidates.find((c) => {
      try {
        return statSync(c).isFile();
      } catch {
        return false;
      }
    });
    targets.push(relative(ROOT, normalize(found ?? base)));
  }
  return targets;
}

const lib = sources(join(ROOT, 'lib'));
const graph = new Map(lib.map((file) => [relative(ROOT, file), importsOf(file)]));

describe('lib/ import graph', () => {
  it('reads every module of lib/ and finds its imports', () => {
    expect(graph.size).toBeGreaterThan(30);
    expect(graph.get('lib/endpoint/endpoint.ts')).toContain('lib/endpoint/gate.ts');
  });

  it('imports nothing from tools/, scripts/ or app/', () => {
    const outside = [...graph].flatMap(([from, to]) =>
      to.filter((t) => /^(tools|scripts|app)\//.test(t)).map((t) => `${from} -> ${t}`),
    );
    expect(outside).toEqual([]);
  });

  it('has no cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (node: string, path: string[]) => {
      if (state.get(node) === 'done') return;
      if (state.get(node) === 'open') {
        cycles.push([...path.slice(path.indexOf(node)), node].join(' -> '));
        return;
      }
      state.set(node, 'open');
      for (const next of graph.get(node) ?? []) if (graph.has(next)) visit(next, [...path, node]);
      state.set(node, 'done');
    };
    for (const node of graph.keys()) visit(node, []);
    expect(cycles).toEqual([]);
  });
});
