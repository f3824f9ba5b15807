import { tracesWanted } from './lib/telemetry/destination';

/**
 * Runs once when a Next.js server starts, on each runtime: the startup checks (Node only, in their own
 * module), and the tracer provider where traces have somewhere to go (lib/telemetry/destination.ts).
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === 'nodejs') await import('./instrumentation-node');
  if (tracesWanted(process.env)) (await import('./lib/telemetry/register')).registerTraces(process.env);
}
