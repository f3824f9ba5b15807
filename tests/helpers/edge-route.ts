import { EdgeVM } from '@edge-runtime/vm';
import { bundleForEdge } from './edge';

/** app/mcp/route.ts bundled for the Edge, its exports as `__route` (see bundleForEdge). */
export function bundleMcpRouteForEdge(reached: string[] = []): Promise<string> {
  return bundleForEdge({ file: 'app/mcp/route.ts' }, '__route', reached);
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
