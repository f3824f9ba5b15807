import { join, resolve } from 'node:path';
import { build } from 'esbuild';

/**
 * The in-process benchmark as one compiled module, the way a deployment runs the route: Next
 * compiles `/mcp` without esbuild's `keepNames`, but tsx turns it on, and then every closure our
 * request path creates per request pays an `Object.defineProperty` for its name that the
 * prebuilt `node_modules` code of the bare handler and the peers never pays. Dependencies stay
 * external (loaded from node_modules as usual); only this repository's TypeScript is compiled.
 */
export async function compileInProcessBench(): Promise<string> {
  // Inside the repository whatever --out-dir says, so the external packages resolve from node_modules.
  const outfile = join(resolve(new URL('../..', import.meta.url).pathname), 'bench-results', '.inprocess.bundle.mjs');
  await build({
    entryPoints: [new URL('./inprocess.ts', import.meta.url).pathname],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    packages: 'external',
    keepNames: false,
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}
