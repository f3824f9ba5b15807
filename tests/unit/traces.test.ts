import { createHmac, randomBytes } from 'node:crypto';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { context, propagation, type ProxyTracerProvider, type SpanContext, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AuditRecord } from '@/lib/audit/record';
import { loadConfig } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { describeAccess } from '@/lib/policy';
import { createRegistry, defineTool, jsonResult, toolError } from '@/lib/registry';
import { registerTraces } from '@/lib/telemetry/register';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';
import { serveFetchHandler, type Listening } from '../helpers/net';
import { type CollectedSpan, type Collector, startCollector } from '../helpers/otlp-collector';

/**
 * Traces, end to end in process: the endpoint of a fixture registry served over real HTTP on
 * 127.0.0.1, the tracer provider registered exactly as instrumentation.ts registers it (mcp-handler's
 * registerMcpOTel over @vercel/otel) exporting OTLP/HTTP JSON to a collector this file starts, and
 * real SDK clients on both protocol revisions. Each call carries its own `traceparent` in `_meta`;
 * each request is served inside an "HTTP" span standing for the one Next.js opens, the ambient
 * context the MCP span must link. The spans that arrive have the conventions' names, parents and
 * attributes, the policy decision, and nothing of a token, the subject or an undeclared argument.
 */
const SUBJECT = 'user_trace_SUBJECT_MARK';
const SUBJECT_KEY = 'trace-subject-key-for-tests-0123456789-abcdef';
const UNDECLARED = 'UNDECLARED_ARGUMENT_MARK';
const RESOURCE = 'http://127.0.0.1:1/mcp';

const registry = createRegistry([
  defineTool({
    name: 'echo',
    title: 'Echo',
    description: 'public',
    access: 'public',
    input: z.object({ message: z.string().optional() }),
    handler: ({ message }) => jsonResult({ echo: message ?? null }),
  }),
  defineTool({
    name: 'write_doc',
    title: 'Write a doc',
    description: 'needs docs:write; audits its title, never its body',
    access: { scopes: ['docs:write'] },
    input: z.object({ title: z.string(), body: z.string() }),
    audit: ['title'],
    handler: ({ title }) => jsonResult({ title }),
  }),
  defineTool({
    name: 'fails',
    title: 'Fails',
    description: 'signed in; always a tool error',
    access: 'signed-in',
    input: z.object({}),
    handler: () => toolError('It failed'),
  }),
  defineTool({
    name: 'admin_only',
    title: 'Admin only',
    description: 'admins; hidden from everyone else',
    access: { roles: ['admin'] },
    input: z.object({}),
    handler: () => jsonResult({ ok: true }),
  }),
]);

let collector: Collector;
let issuer: TestIssuer;
let server: Listening;
let token: string;
const records: AuditRecord[] = [];
/** The span context of each request's stand-in HTTP span, in order. */
const httpSpans: SpanContext[] = [];
const saved = { ...process.env };

beforeAll(async () => {
  collector = await startCollector();
  Object.assign(process.env, {
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/v1/traces`,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
  });
  registerTraces(process.env);
  issuer = await startTestIssuer();
  const config = loadConfig({
    NODE_ENV: 'production',
    AUTHKIT_DOMAIN: issuer.issuer,
    MCP_RESOURCE_URL: RESOURCE,
    MCP_TRACE_SUBJECT_KEY: SUBJECT_KEY,
  });
  const endpoint = createMcpEndpoint({ registry, config: () => config, auditLine: (r) => records.push(r) });
  const http = trace.getTracer('test-http-server');
  server = await serveFetchHandler((request) =>
    http.startActiveSpan('POST /mcp', async (span) => {
      httpSpans.push(span.spanContext());
      try {
        return await endpoint(request);
      } finally {
        span.end();
      }
    }),
  );
  token = await issuer.sign({
    aud: RESOURCE,
    sub: SUBJECT,
    client_id: 'client_trace',
    scope: 'docs:write',
    roles: ['member'],
  });
});

afterAll(async () => {
  await flushTraces();
  trace.disable();
  context.disable();
  propagation.disable();
  process.env = saved;
  await Promise.all([server?.close(), issuer?.close(), collector?.close()]);
});

type AnyClient = {
  listTools(): Promise<unknown>;
  callTool(params: {
    name: string;
    arguments?: Record<string, unknown>;
    _meta?: Record<string, unknown>;
  }): Promise<unknown>;
  close(): Promise<void>;
};
type Connect = (bearer?: string) => Promise<AnyClient>;

const headers = (bearer?: string) => (bearer ? { authorization: `Bearer ${bearer}` } : undefined);
const wires: Array<[wire: string, connect: Connect]> = [
  [
    '2026-07-28',
    async (bearer) => {
      const client = new Client(
        { name: 'trace-v2', version: '1.0.0' },
        { versionNegotiation: { mode: { pin: '2026-07-28' } } },
      );
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: headers(bearer) } }),
      );
      return client as unknown as AnyClient;
    },
  ],
  [
    '2025-11-25',
    async (bearer) => {
      const client = new ClientV1({ name: 'trace-v1', version: '1.0.0' });
      await client.connect(
        new TransportV1(new URL(`${server.url}/mcp`), { requestInit: { headers: headers(bearer) } }),
      );
      return client as unknown as AnyClient;
    },
  ],
];

/** A client span of our own making, to send as the call's `_meta.traceparent`. */
function clientSpan(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const outcome = (call: Promise<unknown>) =>
  call.then(
    (result) => ({ result }),
    (error: unknown) => ({ error: { code: (error as { code?: unknown }).code, message: (error as Error).message } }),
  );

/** Our MCP spans (not the stand-in HTTP spans or @vercel/otel's fetch spans). */
const mcpSpans = () => collector.spans.filter((s) => s.scope === 'edge-mcp-authkit');

/** The MCP span of the trace `traceId`, once exported (flushing the provider while waiting, bounded). */
async function spanIn(traceId: string): Promise<CollectedSpan> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = mcpSpans().find((s) => s.traceId === traceId);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no MCP span in trace ${traceId} within 10 s`);
    await flushTraces();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Exports every ended span now (the batch processor would wait up to 5 s). */
async function flushTraces(): Promise<void> {
  const provider = (trace.getTracerProvider() as ProxyTracerProvider).getDelegate() as {
    forceFlush?: () => Promise<void>;
  };
  await provider.forceFlush?.();
}

const recordOf = (span: CollectedSpan) => records.find((r) => r.requestId === span.attributes['audit.request_id']);
const subjectHash = createHmac('sha256', SUBJECT_KEY).update(SUBJECT).digest('hex').slice(0, 32);

describe.each(wires)('spans of real client calls on %s', (wire, connect) => {
  it('allow: named for the tool, parented by _meta, the HTTP span linked, the decision and declared arguments on it', async () => {
    const client = await connect(token);
    const parent = clientSpan();
    try {
      const args = { title: `declared title ${wire}`, body: UNDECLARED };
      await client.callTool({ name: 'write_doc', arguments: args, _meta: { traceparent: parent.traceparent } });
    } finally {
      await client.close();
    }
    const span = await spanIn(parent.traceId);
    expect(span).toMatchObject({ name: 'tools/call write_doc', kind: 2, parentSpanId: parent.spanId, status: 0 });
    expect(httpSpans.map((h) => h.spanId)).toContain(span.links[0]?.spanId);
    expect(span.links).toHaveLength(1);
    const record = recordOf(span);
    expect(record).toMatchObject({ tool: 'write_doc', decision: 'allow', outcome: 'ok', sub: SUBJECT });
    expect(span.attributes).toMatchObject({
      'mcp.method.name': 'tools/call',
      'mcp.protocol.version': wire,
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'write_doc',
      'jsonrpc.request.id': expect.any(String),
      'audit.request_id': record!.requestId,
      'audit.policy': describeAccess({ scopes: ['docs:write'] }),
      'audit.decision': 'allow',
      'audit.outcome': 'ok',
      'audit.caller.kind': 'user',
      'audit.client_id': 'client_trace',
      'audit.subject_hash': subjectHash,
      'gen_ai.tool.call.arguments': JSON.stringify({ title: `declared title ${wire}` }),
    });
    expect(span.attributes['error.type']).toBeUndefined();
  });

  it('tool error: error.type tool_error and an error status', async () => {
    const client = await connect(token);
    const parent = clientSpan();
    try {
      await client.callTool({ name: 'fails', arguments: {}, _meta: { traceparent: parent.traceparent } });
    } finally {
      await client.close();
    }
    const span = await spanIn(parent.traceId);
    expect(span).toMatchObject({ name: 'tools/call fails', parentSpanId: parent.spanId, status: 2 });
    expect(span.attributes).toMatchObject({
      'error.type': 'tool_error',
      'audit.decision': 'allow',
      'audit.outcome': 'tool_error',
    });
  });

  it('hidden as unknown: the caller gets the unknown-tool answer, the span keeps the true decision', async () => {
    const client = await connect(token);
    const hidden = clientSpan();
    const unknown = clientSpan();
    let answers: unknown[];
    try {
      answers = [
        await outcome(
          client.callTool({ name: 'admin_only', arguments: {}, _meta: { traceparent: hidden.traceparent } }),
        ),
        await outcome(
          client.callTool({ name: 'no_such_tool', arguments: {}, _meta: { traceparent: unknown.traceparent } }),
        ),
      ];
    } finally {
      await client.close();
    }
    expect(answers).toMatchObject([{ error: { code: -32602 } }, { error: { code: -32602 } }]);
    const [hiddenSpan, unknownSpan] = [await spanIn(hidden.traceId), await spanIn(unknown.traceId)];
    const record = recordOf(hiddenSpan);
    expect(record).toMatchObject({ tool: 'admin_only', decision: 'deny' });
    expect(hiddenSpan).toMatchObject({ name: 'tools/call admin_only', parentSpanId: hidden.spanId, status: 2 });
    expect(hiddenSpan.attributes).toMatchObject({
      'audit.decision': 'deny',
      'audit.reason': record!.reason,
      'audit.policy': describeAccess({ roles: ['admin'] }),
      'error.type': '-32602',
      'rpc.response.status_code': '-32602',
    });
    // A name the registry does not know is never a span name or attribute: the caller chose it.
    expect(unknownSpan).toMatchObject({ name: 'tools/call', parentSpanId: unknown.spanId, status: 2 });
    expect(unknownSpan.attributes).toMatchObject({
      'audit.decision': 'reject',
      'audit.reason': 'unknown_tool',
      'error.type': '-32602',
    });
    expect(JSON.stringify(unknownSpan)).not.toContain('no_such_tool');
  });

  it('challenge: an anonymous call to a private tool is answered 401, and its span says so without a subject', async () => {
    const client = await connect();
    const parent = clientSpan();
    let answer: unknown;
    try {
      answer = await outcome(
        client.callTool({
          name: 'write_doc',
          arguments: { title: 't', body: UNDECLARED },
          _meta: { traceparent: parent.traceparent },
        }),
      );
    } finally {
      await client.close();
    }
    expect(answer).toMatchObject({ error: {} });
    const span = await spanIn(parent.traceId);
    expect(span).toMatchObject({ name: 'tools/call write_doc', parentSpanId: parent.spanId, status: 2 });
    expect(span.attributes).toMatchObject({
      'audit.decision': 'challenge',
      'audit.caller.kind': 'anonymous',
      'error.type': '-32001',
      'rpc.response.status_code': '-32001',
      'http.response.status_code': 401,
    });
    expect(span.attributes['audit.subject_hash']).toBeUndefined();
    expect(span.attributes['gen_ai.tool.call.arguments']).toBeUndefined(); // nothing ran: no record with arguments
  });

  it('a message without _meta is a child of the HTTP span, and carries the caller', async () => {
    const client = await connect(token);
    const before = httpSpans.length;
    try {
      await client.listTools();
    } finally {
      await client.close();
    }
    const http = httpSpans.slice(before);
    const deadline = Date.now() + 10_000;
    let span: CollectedSpan | undefined;
    while (!span && Date.now() < deadline) {
      await flushTraces();
      span = mcpSpans().find((s) => s.name === 'tools/list' && http.some((h) => h.spanId === s.parentSpanId));
      if (!span) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(span).toMatchObject({ kind: 2, links: [] });
    const parent = http.find((h) => h.spanId === span!.parentSpanId)!;
    expect(span!.traceId).toBe(parent.traceId);
    expect(span!.attributes).toMatchObject({
      'mcp.method.name': 'tools/list',
      'audit.caller.kind': 'user',
      'audit.client_id': 'client_trace',
      'audit.subject_hash': subjectHash,
    });
  });
});

describe('what no exported span carries', () => {
  it('no token, token signature, subject or undeclared argument in any span, attribute, event, link or resource', async () => {
    await flushTraces();
    const everything = collector.bodies.join('\n');
    // The search reads real exports: the declared argument and the request ids are there.
    expect(everything).toContain('declared title 2026-07-28');
    expect(everything).toContain(records[0]!.requestId);
    const [header, payload, signature] = token.split('.');
    for (const forbidden of [token, signature!, `${header}.${payload}`, payload!, SUBJECT, UNDECLARED, SUBJECT_KEY])
      expect(everything).not.toContain(forbidden);
    expect(collector.rejected).toEqual([]);
    expect(mcpSpans().length).toBeGreaterThanOrEqual(12);
  });
});
