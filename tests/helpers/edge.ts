import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

/** The project root, for esbuild entry points in Edge bundling tests. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/**
 * An esbuild plugin that records every Node built-in the bundle would reach (as "module (from
 * importer)") and leaves it external, so a test can assert the list is empty.
 */
export function forbidNodeBuiltins(reached: string[]): Plugin {
  return {
    name: 'forbid-node-builtins',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (builtins.has(args.path) || args.path.startsWith('node:')) {
          reached.push(`${args.path} (from ${args.importer.replace(PROJECT_ROOT, '')})`);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
}

/**
 * Bundles a module the way an Edge bundler resolves it (edge-light/worker/browser conditions,
 * NODE_ENV production) as an IIFE exposing its exports as `globalName`; `next/server` is the
 * test stand-in. `reached` collects every Node built-in the bundle would need (it should stay empty).
 */
export async function bundleForEdge(
  entry: { file: string } | { contents: string },
  globalName: string,
  reached: string[] = [],
): Promise<string> {
  const result = await build({
    ...('file' in entry
      ? { entryPoints: [`${PROJECT_ROOT}/${entry.file}`] }
      : { stdin: { contents: entry.contents, resolveDir: PROJECT_ROOT, loader: 'ts' } }),
    bundle: true,
    write: false,
    format: 'iife',
    globalName,
    platform: 'browser',
    conditions: ['edge-light', 'worker', 'browser'],
    target: 'es2022',
    tsconfig: `${PROJECT_ROOT}/tsconfig.json`,
    define: { 'process.env.NODE_ENV': '"production"' },
    alias: { 'next/server': `${PROJECT_ROOT}/tests/edge/next-server-shim.ts` },
    plugins: [forbidNodeBuiltins(reached)],
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
