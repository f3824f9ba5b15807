import { createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecords, MCP_HEADERS, rpc } from '../helpers/app';
import { useAppWithIssuer } from '../helpers/app-with-issuer';
import { listen, type Listening } from '../helpers/net';
import { type Collector, startCollector } from '../helpers/otlp-collector';

/**
 * Where teams look, end to end on the built app (the Edge route, as deployed):
 *  - the signed HTTP audit sink (flushed with Next's `after`) posts its records to a receiver on
 *    127.0.0.1: batches arrive signed as Standard Webhooks and match stdout; a sink that is down
 *    changes no response and loses no stdout record;
 *  - traces: with OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set, instrumentation.ts registers the tracer
 *    provider in the Edge runtime and every message's span reaches an OTLP collector on 127.0.0.1,
 *    parented by `_meta`, linked to the request's own trace context (its `traceparent` header), and
 *    nothing Next or we export holds the token.
 */
const SECRET = `whsec_${Buffer.from('test-audit-secret-0123456789abcdef').toString('base64')}`;
const OTHER = `whsec_${Buffer.from('another-secret-0123456789abcdefgh').toString('base64')}`;
let receiver: Listening;
let down = false;
const deliveries: Array<{ body: string; headers: Record<string, string> }> = [];
let attempts = 0;

beforeAll(async () => {
  receiver = await listen(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    attempts += 1;
    if (down) {
      res.writeHead(503).end();
      return;
    }
    deliveries.push({
      body: Buffer.concat(chunks).toString('utf8'),
      headers: req.headers as Record<string, string>,
    });
    res.writeHead(204).end();
  });
});
afterAll(async () => {
  await receiver?.close();
});
const SUBJECT_KEY = 'observability-e2e-subject-key-0123456789abcdef';
let collector: Collector;
beforeAll(async () => {
  collector = await startCollector();
});
afterAll(async () => collector?.close());
const stack = useAppWithIssuer(() => ({
  AUDIT_SINK_URL: `${receiver.url}/audit`,
  AUDIT_SINK_SECRET: SECRET,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/v1/traces`,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
  // Export each batch soon after its spans end, not 5 s later.
  OTEL_BSP_SCHEDULE_DELAY: '100',
  MCP_TRACE_SUBJECT_KEY: SUBJECT_KEY,
}));

async function traffic(): Promise<number[]> {
  const token = await stack.issuer.sign({
    aud: `${stack.app.url}/mcp`,
    sub: 'user_sink',
    org_id: 'org_acme',
    client_id: 'c1',
    scope: 'openid',
  });
  const calls: Array<[string, string | undefined]> = [
    ['ping', undefined],
    ['whoami', token],
    ['whoami', undefined], // 401 challenge
    ['ping', 'not.a.jwt'], // 401 rejected
  ];
  const statuses: number[] = [];
  for (const [tool, bearer] of calls) {
    const response = await fetch(`${stack.app.url}/mcp`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: rpc('tools/call', { name: tool, arguments: {} }),
    });
    await response.arrayBuffer();
    statuses.push(response.status);
  }
  return statuses;
}

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('HTTP audit sink', () => {
  it('delivers signed batches whose records are exactly the ones printed to stdout', async () => {
    const before = auditRecords(stack.app.output()).length;
    expect(await traffic()).toEqual([200, 200, 401, 401]);
    const recordsOf = (body: string) =>
      (JSON.parse(body) as { data: { records: Array<Record<string, unknown>> } }).data.records;
    await until(() => deliveries.flatMap((d) => recordsOf(d.body)).length >= 4);

    for (const delivery of deliveries) {
      expect(() => new Webhook(SECRET).verify(delivery.body, delivery.headers)).not.toThrow();
      expect(() => new Webhook(OTHER).verify(delivery.body, delivery.headers)).toThrow(/signature/);
      expect(delivery.body).not.toContain(SECRET);
    }
    const delivered = deliveries.flatMap((d) => recordsOf(d.body));
    const printed = auditRecords(stack.app.output()).slice(before);
    expect(printed).toHaveLength(4);
    expect(delivered.map((r) => r.requestId).sort()).toEqual(printed.map((r) => r.requestId).sort());
    expect(delivered).toEqual(expect.arrayContaining(printed));
  });

  it('a sink that is down changes no response and loses no stdout record', async () => {
    down = true;
    const before = auditRecords(stack.app.output()).length;
    const attemptsBefore = attempts;
    try {
      expect(await traffic()).toEqual([200, 200, 401, 401]);
      await until(() => attempts > attemptsBefore);
      expect(attempts).toBeGreaterThan(attemptsBefore); // it did try, and failed
      await until(() => auditRecords(stack.app.output()).length >= before + 4);
      expect(auditRecords(stack.app.output()).slice(before)).toHaveLength(4);
      expect(stack.app.output()).toContain('[audit] sink delivery failed: HTTP 503');
      expect(stack.app.output()).not.toContain(SECRET);
    } finally {
      down = false;
    }
  });
});

describe('traces from the Edge route', () => {
  it("each message's span reaches the collector: parent from _meta, the request's own trace context linked, no token anywhere", async () => {
    const token = await stack.issuer.sign({
      aud: `${stack.app.url}/mcp`,
      sub: 'user_trace_SUBJECT_MARK',
      client_id: 'c-trace',
      scope: 'openid',
    });
    const traceId = randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    // What a proxy in front (Vercel's) or an instrumented HTTP client sends: the request's trace context.
    const httpTraceId = randomBytes(16).toString('hex');
    const httpSpanId = randomBytes(8).toString('hex');
    const call = await fetch(`${stack.app.url}/mcp`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, authorization: `Bearer ${token}`, traceparent: `00-${httpTraceId}-${httpSpanId}-01` },
      body: rpc('tools/call', { name: 'whoami', arguments: {}, _meta: { traceparent: `00-${traceId}-${spanId}-01` } }),
    });
    await call.arrayBuffer();
    expect(call.status).toBe(200);
    // Without `_meta`, the request's trace context is the parent.
    const plainTraceId = randomBytes(16).toString('hex');
    const plainSpanId = randomBytes(8).toString('hex');
    const plain = await fetch(`${stack.app.url}/mcp`, {
      method: 'POST',
      headers: {
        ...MCP_HEADERS,
        authorization: `Bearer ${token}`,
        traceparent: `00-${plainTraceId}-${plainSpanId}-01`,
      },
      body: rpc('tools/call', { name: 'whoami', arguments: {} }),
    });
    await plain.arrayBuffer();
    // A token in the query is refused, and no span of the request (ours, Next's, fetches) keeps it.
    const misplaced = await fetch(`${stack.app.url}/mcp?access_token=${token}`, {
      method: 'POST',
      headers: MCP_HEADERS,
      body: rpc('tools/call', { name: 'ping', arguments: {} }),
    });
    await misplaced.arrayBuffer();

    const ours = (id: string) => collector.spans.find((s) => s.scope === 'edge-mcp-authkit' && s.traceId === id);
    await until(() => Boolean(ours(traceId) && ours(plainTraceId)), 20_000);
    const span = ours(traceId)!;
    expect(span).toMatchObject({ name: 'tools/call whoami', kind: 2, parentSpanId: spanId, status: 0 });
    expect(span.links).toEqual([expect.objectContaining({ traceId: httpTraceId, spanId: httpSpanId })]);
    expect(ours(plainTraceId)).toMatchObject({ name: 'tools/call whoami', parentSpanId: plainSpanId });
    expect(ours(plainTraceId)!.links).toEqual([]);
    // Next's own span of /mcp is left to ours (lib/telemetry/next-route-span.ts): none is exported.
    expect(collector.spans.filter((s) => s.name.startsWith('executing api route (app) /mcp'))).toEqual([]);
    const record = auditRecords(stack.app.output()).find((r) => r.requestId === span.attributes['audit.request_id']);
    expect(record).toMatchObject({ tool: 'whoami', decision: 'allow', sub: 'user_trace_SUBJECT_MARK' });
    expect(span.attributes).toMatchObject({
      'mcp.method.name': 'tools/call',
      'gen_ai.tool.name': 'whoami',
      'audit.decision': 'allow',
      'audit.client_id': 'c-trace',
      'audit.subject_hash': createHmac('sha256', SUBJECT_KEY)
        .update('user_trace_SUBJECT_MARK')
        .digest('hex')
        .slice(0, 32),
    });

    // Wait for the refused request's spans (ours), then search every export.
    await until(
      () => collector.spans.some((s) => s.scope === 'edge-mcp-authkit' && s.attributes['audit.decision'] === 'reject'),
      20_000,
    );
    const everything = collector.bodies.join('\n');
    expect(everything).toContain(String(span.attributes['audit.request_id']));
    const [, payload, signature] = token.split('.');
    for (const forbidden of [token, payload!, signature!, 'user_trace_SUBJECT_MARK', SUBJECT_KEY])
      expect(everything).not.toContain(forbidden);
    expect(collector.rejected).toEqual([]);
  });
});
