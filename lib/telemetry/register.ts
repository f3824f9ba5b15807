import type { Configuration } from '@vercel/otel';
import { registerMcpOTel } from 'mcp-handler/otel';
import { otlpConfigured } from './destination';
import { replaceNextRouteSpans } from './next-route-span';
import { RedactUrlsSpanProcessor } from './redact-urls';

/**
 * The tracer provider, through mcp-handler's `registerMcpOTel` (which wraps @vercel/otel: the Edge
 * build, Vercel's collectors, `OTEL_*` variables, W3C propagation, and it drops the `User-Agent` and
 * `Referer` attributes from spans), with URLs redacted before any exporter sees a span and Next's
 * own span around `/mcp` left to ours (./next-route-span.ts).
 */

/** Without an OTLP endpoint @vercel/otel would still export to localhost:4318; a declared exporter stops that. */
const DISCARD: Exclude<Configuration['traceExporter'], string | undefined> = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
};

export function registerTraces(env: Readonly<Record<string, string | undefined>>): void {
  registerMcpOTel({
    // OTEL_SERVICE_NAME, read by @vercel/otel, wins over it.
    serviceName: env.VERCEL_PROJECT_NAME || 'edge-mcp-authkit',
    spanProcessors: [new RedactUrlsSpanProcessor(), 'auto'],
    ...(!otlpConfigured(env) && { traceExporter: DISCARD }),
  });
  replaceNextRouteSpans();
}
