import { EdgeVM } from '@edge-runtime/vm';
import { build } from 'esbuild';
import { forbidNodeBuiltins, PROJECT_ROOT } from './edge';

/**
 * app/mcp/route.ts bundled the way an Edge bundler resolves it (edge-light/worker/browser
 * conditions, NODE_ENV production), as an IIFE exposing the route's exports as `__route`.
 * `reached` collects every Node built-in the bundle would need (it should stay empty).
 */
export async function bundleMcpRouteForEdge(reached: string[] = []): Promise<string> {
  const result = await build({
    entryPoints: [`${PROJECT_ROOT}/app/mcp/route.ts`],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: '__route',
    platform: 'browser',
    conditions: ['edge-light', 'worker', 'browser'],
    target: 'es2022',
    tsconfig: `${PROJECT_ROOT}/tsconfig.json`,
    define: { 'process.env.NODE_ENV': '"production"' },
    // Next provides next/server to its own Edge bundles; its CommonJS dist assumes Node's __dirname.
    alias: { 'next/server': `${PROJECT_ROOT}/tests/edge/next-server-shim.ts` },
    plugins: [forbidNodeBuiltins(reached)],
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/**
 * A fresh Edge isolate running the bundle; the Edge runtime exposes only `process.env` of `process`.
 * `log`, if given, receives what the isolate writes with console.log (the audit lines).
 */
export function edgeRouteVm(code: string, env: Record<string, string>, log?: (line: string) => void): EdgeVM {
  return new EdgeVM({
    extend: (context) => {
      Object.assign(context, { process: { env } });
      if (log) context.console = { ...context.console, log: (...args: unknown[]) => log(args.map(String).join(' ')) };
      return context;
    },
    initialCode: code,
  });
}

/** Calls one of the route's exported handlers (POST, GET, DELETE) inside the isolate. */
export async function callInEdgeVm(
  vm: EdgeVM,
  method: 'POST' | 'GET' | 'DELETE',
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
): Promise<Response> {
  vm.context.__init = init;
  return (await vm.evaluate(`__route.${method}(new Request(${JSON.stringify(url)}, __init))`)) as Response;
}
