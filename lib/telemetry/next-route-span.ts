import {
  context,
  INVALID_SPAN_CONTEXT,
  type ProxyTracerProvider,
  type Span,
  trace,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';

/**
 * Next.js's own span around `/mcp` ("executing api route (app) /mcp"), not recorded: our span per
 * MCP message (./request-trace.ts) covers the same time with the method, the decision and the caller,
 * and Next's cost about 10 % of a private call's throughput under `next start` (`npm run bench`,
 * docs/PERFORMANCE.md). Its callback still runs, with the request's incoming trace context active
 * (the W3C `traceparent` Next extracts from the HTTP headers), so our span takes that as its ambient
 * context. Every other span of Next's (other routes, module loading) is recorded as before.
 */
const REPLACED_NEXT_SPANS: ReadonlySet<string> = new Set(['executing api route (app) /mcp']);
const NEXT_TRACER = 'next.js';

function withoutReplacedSpans(tracer: Tracer): Tracer {
  return new Proxy(tracer, {
    get(target, property, receiver) {
      if (property !== 'startActiveSpan') return Reflect.get(target, property, receiver);
      return (name: string, ...rest: unknown[]) => {
        if (!REPLACED_NEXT_SPANS.has(name))
          return (target.startActiveSpan as (name: string, ...rest: unknown[]) => unknown).call(target, name, ...rest);
        // What a tracer that records nothing hands out: the active context's span, not recording.
        const callback = rest.at(-1) as (span: Span) => unknown;
        return callback(trace.wrapSpanContext(trace.getSpanContext(context.active()) ?? INVALID_SPAN_CONTEXT));
      };
    },
  });
}

/**
 * Puts the filter between Next's tracer and the registered provider. The provider stays itself
 * (Next checks its class to know tracing is on); only the tracer named `next.js` is wrapped.
 */
export function replaceNextRouteSpans(): void {
  const proxy = trace.getTracerProvider() as ProxyTracerProvider;
  const provider = proxy.getDelegate();
  const getTracer: TracerProvider['getTracer'] = (name, version, options) => {
    const tracer = provider.getTracer(name, version, options);
    return name === NEXT_TRACER ? withoutReplacedSpans(tracer) : tracer;
  };
  proxy.setDelegate(
    new Proxy(provider, {
      get: (target, property, receiver) =>
        property === 'getTracer' ? getTracer : Reflect.get(target, property, receiver),
    }),
  );
}
