/**
 * Whether this server registers a tracer provider (instrumentation.ts): only where spans have
 * somewhere to go, so that everywhere else a span costs nothing (the API's no-op tracer).
 *  - an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`);
 *  - on Vercel, where Session Tracing, Observability and Trace Drains collect them once turned on.
 * `OTEL_SDK_DISABLED=true` turns them off everywhere.
 */
export function tracesWanted(env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.VERCEL === '1');
}

/** Whether spans go to an OTLP endpoint (otherwise only to Vercel's collectors). */
export function otlpConfigured(env: Readonly<Record<string, string | undefined>>): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}
