import type { IncomingMessage } from 'node:http';
import { listen, type Listening } from './net';

/**
 * An OTLP/HTTP trace receiver on 127.0.0.1, for tests: it accepts `POST /v1/traces` with the JSON
 * encoding (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json), answers as a collector does
 * (`{"partialSuccess":{}}`), and keeps every span it got, plus every request body as received so a
 * test can search all of it (resource, scopes, spans, events, links) for bytes that must not be there.
 */

type AnyValue = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
};
type KeyValue = { key: string; value?: AnyValue };
type OtlpSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: KeyValue[];
  events?: Array<{ name: string; attributes?: KeyValue[] }>;
  links?: Array<{ traceId: string; spanId: string }>;
  status?: { code?: number; message?: string };
};
type ExportRequest = {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{ scope?: { name?: string }; spans?: OtlpSpan[] }>;
  }>;
};

export type CollectedSpan = {
  scope: string;
  name: string;
  /** 1 internal, 2 server, 3 client (OTLP's SpanKind). */
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  links: Array<{ traceId: string; spanId: string }>;
  attributes: Record<string, unknown>;
  events: string[];
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: number;
  durationMs: number;
};

export type Collector = Listening & {
  spans: CollectedSpan[];
  /** Every export request body, verbatim. */
  bodies: string[];
  /** Export requests that were not OTLP/HTTP JSON on /v1/traces: method, path and content type. */
  rejected: string[];
};

/** OTLP JSON carries ids as hex; some encoders send base64. Either way, lowercase hex out. */
function hexId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

function anyValue(value: AnyValue | undefined): unknown {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(anyValue);
  if (value.kvlistValue) return attributesOf(value.kvlistValue.values);
  return undefined;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, anyValue(kv.value)]));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startCollector(): Promise<Collector> {
  const spans: CollectedSpan[] = [];
  const bodies: string[] = [];
  const rejected: string[] = [];
  const server = await listen(async (req, res) => {
    const body = await readBody(req);
    const json = (req.headers['content-type'] ?? '').startsWith('application/json');
    if (req.method !== 'POST' || req.url !== '/v1/traces' || !json) {
      rejected.push(`${req.method} ${req.url} ${req.headers['content-type'] ?? ''}`);
      res.writeHead(415, { 'content-type': 'application/json' }).end('{"code":3,"message":"OTLP/HTTP JSON only"}');
      return;
    }
    bodies.push(body);
    const request = JSON.parse(body) as ExportRequest;
    for (const resource of request.resourceSpans ?? [])
      for (const scope of resource.scopeSpans ?? [])
        for (const span of scope.spans ?? [])
          spans.push({
            scope: scope.scope?.name ?? '',
            name: span.name,
            kind: span.kind,
            traceId: hexId(span.traceId) ?? '',
            spanId: hexId(span.spanId) ?? '',
            parentSpanId: hexId(span.parentSpanId),
            links: (span.links ?? []).map((l) => ({ traceId: hexId(l.traceId) ?? '', spanId: hexId(l.spanId) ?? '' })),
            attributes: attributesOf(span.attributes),
            events: (span.events ?? []).map((e) => e.name),
            status: span.status?.code ?? 0,
            durationMs: (Number(span.endTimeUnixNano) - Number(span.startTimeUnixNano)) / 1e6,
          });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"partialSuccess":{}}');
  });
  return Object.assign(server, { spans, bodies, rejected });
}
