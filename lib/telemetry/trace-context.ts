import { isSpanContextValid, type SpanContext } from '@opentelemetry/api';
import { isPlainObject } from '../wire/envelope';

/**
 * The W3C `traceparent` a client put in a message's `params._meta`, which the MCP semantic
 * conventions make the parent of the server span. Read here rather than through the global
 * propagator: @vercel/otel's Vercel runtime propagator replaces whatever was extracted with the
 * platform's root span, so `_meta` would never be the parent on Vercel. `tracestate` is not kept:
 * it is text the caller chose, and a span's trace state is exported with it.
 */

// version-traceid-parentid-flags; a later version may append fields, which are ignored.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

export function metaTraceContext(meta: unknown): SpanContext | undefined {
  if (!isPlainObject(meta) || typeof meta.traceparent !== 'string') return undefined;
  const match = TRACEPARENT.exec(meta.traceparent.trim());
  if (!match) return undefined;
  const [, version, traceId = '', spanId = '', flags = '', rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  const spanContext: SpanContext = { traceId, spanId, traceFlags: Number.parseInt(flags, 16) & 1, isRemote: true };
  return isSpanContextValid(spanContext) ? spanContext : undefined; // all-zero ids are invalid
}
