import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

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
