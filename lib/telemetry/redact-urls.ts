import type { Span } from '@opentelemetry/api';

/**
 * URLs as other instrumentations put them on spans (Next's HTTP and fetch spans, @vercel/otel's
 * fetch spans), made safe to export: no query or fragment (a client may put a token in `?access_token=`,
 * which /mcp refuses but Next would still record), and no path segment that looks like an identifier
 * (a WorkOS lookup puts the caller's user id in its path). Runs when a span starts, before any
 * exporter sees it; attributes set later (status codes) are not URLs.
 */

/**
 * Attributes that hold a URL, a path or a query: the current and the older HTTP conventions, Next's
 * span name, and @vercel/otel's `resource.name` (the fetched URL again).
 */
const URL_ATTRIBUTES = [
  'url.full',
  'url.path',
  'url.query',
  'http.url',
  'http.target',
  'next.span_name',
  'resource.name',
];
/** An identifier-looking segment: long with a digit and no dot (user_01H..., UUIDs; not a host), or all digits. */
const ID_SEGMENT = /^(?=[^/]*\d)[^/.]{16,}$|^\d+$/;

/** A URL or path (or text with URLs in it, as span names are) without queries, fragments or ids. */
export function redactUrl(text: string): string {
  return text
    .replace(/[?#][^\s]*/g, '')
    .replace(/(\/)([^/\s]+)/g, (whole, slash: string, segment: string) =>
      ID_SEGMENT.test(segment) ? `${slash}{id}` : whole,
    );
}

/** What a span processor's `onStart` receives: a live span with its attributes so far. */
type StartedSpan = Span & { name: string; attributes: Record<string, unknown> };

export class RedactUrlsSpanProcessor {
  onStart(span: StartedSpan): void {
    for (const key of URL_ATTRIBUTES) {
      const value = span.attributes[key];
      if (typeof value === 'string') span.setAttribute(key, key === 'url.query' ? '' : redactUrl(value));
    }
    if (/[?#/]/.test(span.name)) span.updateName(redactUrl(span.name));
  }
  onEnd(): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
