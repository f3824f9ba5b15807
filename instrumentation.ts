import { tracesWanted } from './lib/telemetry/destination';

/**
 * Runs once when a Next.js server starts, on each runtime: the startup checks (Node only, in their own
 * module), and the tracer provider on the Edge runtime, where `/mcp` and the metadata routes run, when
 * traces have somewhere to go (lib/telemetry/destination.ts). Not on Node: there it would only add
 * Next's own spans around every request `next start` hands to the Edge sandbox (about 15 % of a
 * private call's throughput in `npm run bench`), and the landing page is not what traces are for.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === 'nodejs') await import('./instrumentation-node');
  if (process.env.NEXT_RUNTIME === 'edge' && tracesWanted(process.env))
    (await import('./lib/telemetry/register')).registerTraces(process.env);
}
