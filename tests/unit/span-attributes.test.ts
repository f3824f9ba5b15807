import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '@/lib/audit/record';
import {
  answerFailure,
  messageAttributes,
  messagesOf,
  principalAttributes,
  recordAttributes,
  recordFailure,
  spanName,
} from '@/lib/telemetry/span-attributes';
import { redactUrl } from '@/lib/telemetry/redact-urls';
import { subjectHasher } from '@/lib/telemetry/subject-hash';
import { tracesWanted } from '@/lib/telemetry/destination';
import { metaTraceContext } from '@/lib/telemetry/trace-context';

/**
 * The pure half of traces: what a span is named and carries, read from the message, its audit record
 * and its answer; the `_meta` trace context; URL redaction; when a provider is registered at all.
 * tests/unit/traces.test.ts checks the same through real clients and a real collector.
 */
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('the _meta trace context', () => {
  it('takes a valid traceparent, sampled or not, and drops tracestate', () => {
    expect(metaTraceContext({ traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: 'x=eyJhbGciOi' })).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      traceFlags: 1,
      isRemote: true,
    });
    expect(metaTraceContext({ traceparent: ` 00-${TRACE}-${SPAN}-00 ` })).toMatchObject({ traceFlags: 0 });
    // A later version may append fields.
    expect(metaTraceContext({ traceparent: `01-${TRACE}-${SPAN}-01-extra` })).toMatchObject({ spanId: SPAN });
  });

  it.each([
    ['no _meta', undefined],
    ['no traceparent', { tracestate: 'a=b' }],
    ['not a string', { traceparent: 42 }],
    ['version ff', { traceparent: `ff-${TRACE}-${SPAN}-01` }],
    ['version 00 with more fields', { traceparent: `00-${TRACE}-${SPAN}-01-x` }],
    ['all-zero trace id', { traceparent: `00-${'0'.repeat(32)}-${SPAN}-01` }],
    ['all-zero span id', { traceparent: `00-${TRACE}-${'0'.repeat(16)}-01` }],
    ['upper case', { traceparent: `00-${TRACE.toUpperCase()}-${SPAN}-01` }],
    ['too short', { traceparent: `00-${TRACE.slice(1)}-${SPAN}-01` }],
  ])('ignores %s', (_name, meta) => {
    expect(metaTraceContext(meta)).toBeUndefined();
  });
});

describe('messages, names and attributes', () => {
  it('reads each message: known methods by name, any other as _OTHER, ids as strings within 128 characters', () => {
    const body = [
      { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'secret_name', _meta: { traceparent: 'x' } } },
      { jsonrpc: '2.0', id: 'x'.repeat(129), method: 'evil/method<script>' },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      'not a message',
    ];
    const messages = messagesOf(body, 100);
    expect(messages.map((m) => [m.method, m.id])).toEqual([
      ['tools/call', '7'],
      ['_OTHER', undefined],
      ['notifications/initialized', undefined],
    ]);
    expect(messageAttributes(messages[0]!, '2025-03-26')).toEqual({
      'mcp.method.name': 'tools/call',
      'jsonrpc.request.id': '7',
      'mcp.protocol.version': '2025-03-26',
      'gen_ai.operation.name': 'execute_tool',
      'network.protocol.name': 'http',
      'network.transport': 'tcp',
    });
    // The name a caller chose matches records to messages; it is never an attribute.
    expect(JSON.stringify(messages.map((m) => messageAttributes(m, null)))).not.toContain('secret_name');
    expect(messagesOf(Array(500).fill({ method: 'ping' }), 100)).toHaveLength(100);
  });

  it('takes the revision from _meta, then the header, then what initialize asks for; never a malformed one', () => {
    const version = (body: unknown, header: string | null) =>
      messageAttributes(messagesOf(body, 1)[0]!, header)['mcp.protocol.version'];
    const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' };
    expect(version({ method: 'tools/list', params: { _meta: meta } }, '2025-11-25')).toBe('2026-07-28');
    expect(version({ method: 'tools/list' }, '2025-11-25')).toBe('2025-11-25');
    expect(version({ method: 'initialize', params: { protocolVersion: '2025-11-25' } }, null)).toBe('2025-11-25');
    expect(version({ method: 'tools/list' }, 'eyJ.token')).toBeUndefined();
  });

  const base: AuditRecord = {
    type: 'tool_call',
    time: '2026-12-07T00:00:00.000Z',
    requestId: 'req-1',
    method: 'tools/call',
    tool: 'write_doc',
    policy: 'scopes:docs:write',
    decision: 'allow',
    outcome: 'ok',
    status: 200,
    sub: 'user_SUBJECT',
    org_id: 'org_ORG',
    client_id: 'client_1',
    sid: 'session_SID',
    jti: 'jti_JTI',
    scopes: ['docs:write'],
    arguments: { title: 'declared' },
  };

  it('names a span for a tool or prompt of the registry only (its record names a policy)', () => {
    expect(spanName('tools/call', base)).toBe('tools/call write_doc');
    expect(spanName('prompts/get', { ...base, type: 'prompt_get', tool: undefined, prompt: 'p' })).toBe(
      'prompts/get p',
    );
    expect(spanName('tools/call', { ...base, policy: undefined, tool: 'no_such_tool' })).toBe('tools/call');
    expect(spanName('resources/read', { ...base, tool: undefined, resource: 'doc_index' })).toBe('resources/read');
    expect(spanName('tools/list', undefined)).toBe('tools/list');
  });

  it('carries the decision and the caller from the record, never its subject, session, token id or scopes', () => {
    const attributes = recordAttributes(base, 'HASH');
    expect(attributes).toEqual({
      'audit.request_id': 'req-1',
      'audit.decision': 'allow',
      'audit.caller.kind': 'user',
      'audit.policy': 'scopes:docs:write',
      'audit.outcome': 'ok',
      'audit.client_id': 'client_1',
      'audit.subject_hash': 'HASH',
      'gen_ai.tool.name': 'write_doc',
      'gen_ai.tool.call.arguments': '{"title":"declared"}',
    });
    const text = JSON.stringify(attributes);
    for (const value of ['user_SUBJECT', 'org_ORG', 'session_SID', 'jti_JTI']) expect(text).not.toContain(value);
    expect(recordAttributes({ ...base, sub: undefined, client_id: undefined }, undefined)).toMatchObject({
      'audit.caller.kind': 'anonymous',
    });
    // An issue-26-style record names its caller kind.
    expect(recordAttributes({ ...base, kind: 'machine' } as AuditRecord, undefined)['audit.caller.kind']).toBe(
      'machine',
    );
    expect(principalAttributes({ kind: 'anonymous' }, undefined)).toEqual({ 'audit.caller.kind': 'anonymous' });
  });

  it('reads failures from answers and records as the conventions name them', () => {
    expect(answerFailure({ jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'Tool x not found' } })).toEqual({
      errorType: '-32602',
      code: -32602,
    });
    expect(answerFailure({ id: 1, result: { isError: true, content: [] } })).toEqual({ errorType: 'tool_error' });
    expect(answerFailure({ id: 1, result: { content: [] } })).toBeUndefined();
    expect(recordFailure({ ...base, outcome: 'tool_error' })).toEqual({ errorType: 'tool_error' });
    expect(recordFailure({ ...base, outcome: 'not_run', status: 401 })).toEqual({ errorType: '401' });
    expect(recordFailure(base)).toBeUndefined();
  });
});

describe('the subject hash', () => {
  it('is keyed: stable per key, different across keys, absent without one', () => {
    const a = subjectHasher('k'.repeat(32))!;
    const b = subjectHasher('j'.repeat(32))!;
    expect(a('user_1')).toMatch(/^[0-9a-f]{32}$/);
    expect(a('user_1')).toBe(a('user_1'));
    expect(a('user_1')).not.toBe(a('user_2'));
    expect(a('user_1')).not.toBe(b('user_1'));
    expect(subjectHasher(undefined)).toBeUndefined();
  });
});

describe('URLs on other spans', () => {
  it.each([
    ['/mcp?access_token=eyJhbGciOi.x.y', '/mcp'],
    ['http://127.0.0.1:3000/mcp?access_token=abc#frag', 'http://127.0.0.1:3000/mcp'],
    [
      'https://api.workos.com/user_management/users/user_01HZX5Q8M3C6X0J9Y2K7W4V1B2',
      'https://api.workos.com/user_management/users/{id}',
    ],
    [
      'fetch GET https://api.workos.com/organizations/org_01HZX5Q8M3C6X0J9Y2K7W4V1B2/x?a=1',
      'fetch GET https://api.workos.com/organizations/{id}/x',
    ],
    ['https://my-app-git-feature-123.vercel.app/oauth2/jwks', 'https://my-app-git-feature-123.vercel.app/oauth2/jwks'],
    ['/notes/12345', '/notes/{id}'],
    ['POST /mcp', 'POST /mcp'],
  ])('%s', (input, output) => {
    expect(redactUrl(input)).toBe(output);
  });
});

describe('where a tracer provider is registered', () => {
  it.each([
    [{}, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otlp.example.com/v1/traces' }, true],
    [{ VERCEL: '1' }, true],
    [{ VERCEL: '1', OTEL_SDK_DISABLED: 'true' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com', OTEL_SDK_DISABLED: 'TRUE' }, false],
  ])('%o: %s', (env, wanted) => {
    expect(tracesWanted(env)).toBe(wanted);
  });
});
