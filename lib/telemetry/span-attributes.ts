import type { Attributes } from '@opentelemetry/api';
import type { AuditRecord } from '../audit/record';
import type { Principal } from '../auth/principal';
import { isPlainObject } from '../wire/envelope';

/**
 * What a message's span says, as pure functions of what the request already holds: the message
 * (method, id, revision), its audit records (the policy decision, the caller) and its answer. Names
 * follow the OpenTelemetry MCP semantic conventions; the decision's own attributes are named after the
 * audit record's fields (`audit.*`), so a span and its record join on `audit.request_id`.
 *
 * Never on a span: the token or any part of it, the subject (only its keyed hash), session and token
 * ids, granted scopes, arguments a primitive did not declare in `audit`, results, a resource URI, or
 * any name or message a caller chose (a method the conventions do not list is `_OTHER`; a primitive
 * is named only once its audit record shows it is one of the registry's).
 */

/** The conventions' well-known methods, plus the 2026-07-28 ones this server answers. */
const METHODS = new Set([
  'initialize',
  'ping',
  'server/discover',
  'tools/list',
  'tools/call',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
  'logging/setLevel',
  'subscriptions/listen',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
]);
const REVISION = /^\d{4}-\d{2}-\d{2}$/;
const MAX_ID_CHARS = 128;
const PROTOCOL_VERSION_META_KEY = 'io.modelcontextprotocol/protocolVersion';

/** One JSON-RPC message of the body, as its span reads it. */
export type MessageFacts = {
  method: string;
  /** The JSON-RPC id as a string; absent for a notification, a null id or an overlong one. */
  id?: string;
  params?: Record<string, unknown>;
  /** `params._meta`, where the client's trace context is. */
  meta?: unknown;
  /** The tool or prompt name or resource URI a call names: matches a record to its message, never an attribute. */
  name?: string;
};

/** The messages of a body (at most `limit`). */
export function messagesOf(body: unknown, limit: number): MessageFacts[] {
  const items = Array.isArray(body) ? body.slice(0, limit) : [body];
  return items.filter(isPlainObject).map((item) => {
    const method = typeof item.method === 'string' && METHODS.has(item.method) ? item.method : '_OTHER';
    const params = isPlainObject(item.params) ? item.params : undefined;
    const rawId = typeof item.id === 'string' || typeof item.id === 'number' ? String(item.id) : undefined;
    const id = rawId !== undefined && rawId.length <= MAX_ID_CHARS ? rawId : undefined;
    const named = params?.name ?? params?.uri;
    return { method, id, params, meta: params?._meta, ...(typeof named === 'string' && { name: named }) };
  });
}

/** What a message's span says before anything runs (only computed for a span that records). */
export function messageAttributes(message: MessageFacts, revisionHeader: string | null): Attributes {
  const { method, id, meta, params } = message;
  const declared = isPlainObject(meta) ? meta[PROTOCOL_VERSION_META_KEY] : undefined;
  const version = [declared, revisionHeader, method === 'initialize' ? params?.protocolVersion : undefined].find(
    (v): v is string => typeof v === 'string' && REVISION.test(v),
  );
  return {
    'mcp.method.name': method,
    'network.protocol.name': 'http',
    'network.transport': 'tcp',
    ...(id !== undefined && { 'jsonrpc.request.id': id }),
    ...(version && { 'mcp.protocol.version': version }),
    ...(method === 'tools/call' && { 'gen_ai.operation.name': 'execute_tool' }),
  };
}

/** `{mcp.method.name} {target}`: the target is a tool or prompt of the registry, never a name a caller chose. */
export function spanName(method: string, record: AuditRecord | undefined): string {
  const target = record?.policy === undefined ? undefined : (record.tool ?? record.prompt);
  return target && (method === 'tools/call' || method === 'prompts/get') ? `${method} ${target}` : method;
}

/** The caller kind: issue-26-style records name it (`kind`); until then, signed in or not. */
function callerKind(record: AuditRecord): string {
  const kind: unknown = (record as AuditRecord & { kind?: unknown }).kind;
  return typeof kind === 'string' ? kind : record.sub === undefined ? 'anonymous' : 'user';
}

/**
 * The decision and the caller, from the audit record of the message (a call's record, or the
 * request's `request_rejected` one). `subjectHash` is the keyed hash of `record.sub`, when configured.
 */
export function recordAttributes(record: AuditRecord, subjectHash: string | undefined): Attributes {
  const attributes: Attributes = {
    'audit.request_id': record.requestId,
    'audit.decision': record.decision,
    'audit.caller.kind': callerKind(record),
  };
  if (record.policy !== undefined) attributes['audit.policy'] = record.policy;
  if (record.reason !== undefined) attributes['audit.reason'] = record.reason;
  if (record.outcome !== undefined) attributes['audit.outcome'] = record.outcome;
  if (record.client_id !== undefined) attributes['audit.client_id'] = record.client_id;
  if (subjectHash !== undefined) attributes['audit.subject_hash'] = subjectHash;
  if (record.policy !== undefined && record.tool !== undefined) attributes['gen_ai.tool.name'] = record.tool;
  if (record.policy !== undefined && record.prompt !== undefined) attributes['gen_ai.prompt.name'] = record.prompt;
  if (record.policy !== undefined && record.resource !== undefined) attributes['audit.resource'] = record.resource;
  // Only what the tool declared in `audit`, capped as the record caps it.
  if (record.type === 'tool_call' && record.arguments !== undefined)
    attributes['gen_ai.tool.call.arguments'] = JSON.stringify(record.arguments);
  if (record.status !== undefined && record.status >= 400) attributes['http.response.status_code'] = record.status;
  return attributes;
}

/** The caller of a message with no record (a list, a ping): kind and client only. */
export function principalAttributes(principal: Principal, subjectHash: string | undefined): Attributes {
  if (principal.kind !== 'user') return { 'audit.caller.kind': principal.kind };
  return {
    'audit.caller.kind': principal.kind,
    ...(principal.clientId !== undefined && { 'audit.client_id': principal.clientId }),
    ...(subjectHash !== undefined && { 'audit.subject_hash': subjectHash }),
  };
}

/** What went wrong, if anything, by the conventions: the JSON-RPC error code, or `tool_error` for an `isError` result. */
export type Failure = { errorType: string; code?: number };

/** The failure a JSON-RPC answer the SDK sent carries, if any. */
export function answerFailure(answer: unknown): Failure | undefined {
  if (!isPlainObject(answer)) return undefined;
  if (isPlainObject(answer.error) && typeof answer.error.code === 'number')
    return { errorType: String(answer.error.code), code: answer.error.code };
  if (isPlainObject(answer.result) && answer.result.isError === true) return { errorType: 'tool_error' };
  return undefined;
}

/** The failure a record shows when no answer was seen (a refusal before the SDK, a tool error). */
export function recordFailure(record: AuditRecord): Failure | undefined {
  if (record.outcome === 'tool_error' || (record.type === 'tool_call' && record.outcome === 'exception'))
    return { errorType: 'tool_error' };
  if (record.status !== undefined && record.status >= 400) return { errorType: String(record.status) };
  return undefined;
}

export function failureAttributes(failure: Failure): Attributes {
  return {
    'error.type': failure.errorType,
    ...(failure.code !== undefined && { 'rpc.response.status_code': String(failure.code) }),
  };
}
