import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The framework's shape: lib/ imports nothing from the example tools, the development scripts or
 * the app, no module of lib/ reaches itself again through its imports, and every import follows
 * the stage order of docs/ARCHITECTURE.md's Layout table (below).
 */
const ROOT = join(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : /\.tsx?$/.test(path) ? [path] : [];
  });
}

// Static imports and re-exports (`from '...'`), dynamic `import('...')` and side-effect `import '...'`.
const IMPORT = /\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)|^\s*import\s+'([^']+)'/gm;

/** Repository-relative targets of a file's imports that are ours (relative or @/ paths). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const targets: string[] = [];
  for (const [, from, dynamic, bare] of text.matchAll(IMPORT)) {
    const spec = from ?? dynamic ?? bare;
    if (!spec) continue;
    const base = spec.startsWith('@/')
      ? join(ROOT, spec.slice(2))
      : spec.startsWith('.')
        ? join(dirname(file), spec)
        : '';
    if (!base) continue;
    const candidates = [`${base}.ts`, `${base}.tsx`, join(base, 'index.ts'), join(base, 'index.tsx'), base];
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

// ---------------------------------------------------------------------------------------------
// The stage order: docs/ARCHITECTURE.md's Layout table, row by row, is the order of imports. A module imports
// only from its own row and the rows above it, so nothing that ships (every row above `scripts/`)
// reaches the development scripts. Tests are not part of it.

/** The Layout table's first column: per row, the paths it names (a folder ends in `/`). */
function layoutRows(): string[][] {
  const readme = readFileSync(join(ROOT, 'docs/ARCHITECTURE.md'), 'utf8');
  const section = readme.split(/^#+ Layout\s*$/m)[1] ?? '';
  const table = section.slice(section.indexOf('\n|'));
  const rows = table.split('\n').slice(1);
  const end = rows.findIndex((line) => !line.startsWith('|'));
  return rows
    .slice(0, end === -1 ? undefined : end)
    .filter((line) => !/^\|[-| ]+\|$/.test(line))
    .map((line) => [...(line.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)].map(([, path]) => path ?? ''));
}

const ROWS = layoutRows();
const rowOf = (file: string): number =>
  ROWS.findIndex((paths) => paths.some((path) => (path.endsWith('/') ? file.startsWith(path) : file === path)));

const STAGED_ROOTS = ['app', 'lib', 'tools', 'scripts'];
const staged = [
  ...STAGED_ROOTS.flatMap((dir) => sources(join(ROOT, dir))),
  ...readdirSync(ROOT)
    .filter((name) => /\.tsx?$/.test(name) && ROWS.flat().includes(name))
    .map((name) => join(ROOT, name)),
]
  .map((file) => relative(ROOT, file))
  .filter((file) => !/\.test\.tsx?$/.test(file));

describe('stage order (docs/ARCHITECTURE.md Layout)', () => {
  it('reads the Layout table and places every module of app/, lib/, tools/ and scripts/ in one of its rows', () => {
    expect(ROWS.length).toBeGreaterThan(8);
    expect(ROWS.flat()).toEqual(expect.arrayContaining(['lib/http/', 'lib/endpoint/', 'tools/', 'app/', 'scripts/']));
    expect(ROWS.at(-1)).toEqual(['scripts/']);
    expect(staged).toContain('app/_landing/local-sign-in.ts');
    expect(staged.filter((file) => rowOf(file) === -1)).toEqual([]);
  });

  it('has no module importing a later row: no stage imports a later one, nothing that ships imports scripts/', () => {
    const backwards = staged.flatMap((from) =>
      importsOf(join(ROOT, from))
        .filter((to) => rowOf(to) === -1 || rowOf(to) > rowOf(from))
        .map((to) => `${from} -> ${to}`),
    );
    expect(backwards).toEqual([]);
  });
});
