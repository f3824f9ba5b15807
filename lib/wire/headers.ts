import { classifyInboundRequest } from '@modelcontextprotocol/server';
import type { Refusal } from '../http/answers';
import type { Envelope } from './envelope';

/**
 * The 2026-07-28 mirrored headers (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`) checked
 * against the body before authentication and policy, as the spec orders it: a request whose
 * headers disagree with its body is refused 400 / -32020 without a challenge or a tool running.
 *
 * The version and method cross-checks are the SDK's own (`classifyInboundRequest`). The SDK
 * applies the presence and `Mcp-Name` half only inside its handler, after our gate, and does not
 * export it, so that half is here, following the same table (SEP-2243).
 */

export const HEADER_MISMATCH = -32020;

export type HeaderCheck =
  | { ok: true; era: 'modern' | 'legacy' | 'other' }
  | (Refusal & { ok: false; status: 400; code: typeof HEADER_MISMATCH; reason: HeaderMismatchReason });

export type HeaderMismatchReason =
  | 'version_header_mismatch'
  | 'method_header_mismatch'
  | 'version_header_missing'
  | 'method_header_missing'
  | 'name_header_missing'
  | 'name_header_invalid'
  | 'name_header_mismatch';

// Which body field `Mcp-Name` mirrors, per method (SEP-2243 and SEP-2663's tasks rows).
const NAME_SOURCE: Readonly<Record<string, string>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

// Fixed messages: a header value is never echoed back.
const MESSAGES: Record<HeaderMismatchReason, string> = {
  version_header_mismatch: 'The MCP-Protocol-Version header disagrees with the body; nothing was executed',
  method_header_mismatch: 'The Mcp-Method header disagrees with the body method; nothing was executed',
  version_header_missing: 'The MCP-Protocol-Version header is required on this request; nothing was executed',
  method_header_missing: 'The Mcp-Method header is required on this request; nothing was executed',
  name_header_missing: 'The Mcp-Name header is required on this request; nothing was executed',
  name_header_invalid: 'The Mcp-Name header is not valid; nothing was executed',
  name_header_mismatch: 'The Mcp-Name header disagrees with the body; nothing was executed',
};

const mismatch = (reason: HeaderMismatchReason): HeaderCheck => ({
  ok: false,
  status: 400,
  code: HEADER_MISMATCH,
  reason,
  message: MESSAGES[reason],
});

const BASE64_PREFIX = '=?base64?';
const BASE64_SUFFIX = '?=';
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A header value, with the spec's Base64 sentinel decoded; undefined when the sentinel is malformed. */
export function decodeHeaderValue(value: string): string | undefined {
  if (
    !(value.startsWith(BASE64_PREFIX) && value.endsWith(BASE64_SUFFIX)) ||
    value.length < BASE64_PREFIX.length + BASE64_SUFFIX.length
  )
    return value;
  const payload = value.slice(BASE64_PREFIX.length, value.length - BASE64_SUFFIX.length);
  if (!CANONICAL_BASE64.test(payload)) return undefined;
  try {
    const binary = atob(payload);
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

const trimOws = (value: string | null): string | undefined =>
  value === null ? undefined : value.replace(/^[\t ]+|[\t ]+$/g, '');

function nameInBody(method: string, params: unknown): string | undefined {
  const field = Object.hasOwn(NAME_SOURCE, method) ? NAME_SOURCE[method] : undefined;
  if (field === undefined || typeof params !== 'object' || params === null || Array.isArray(params)) return undefined;
  const value = (params as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

/**
 * The decision for one POST: pass (with the era the body claims) or a -32020 refusal. Anything
 * else the SDK would refuse (malformed envelope, unsupported version) is left to the SDK.
 */
export function checkWireHeaders(headers: Headers, envelope: Envelope): HeaderCheck {
  const versionHeader = trimOws(headers.get('mcp-protocol-version'));
  const methodHeader = trimOws(headers.get('mcp-method'));
  const nameHeader = trimOws(headers.get('mcp-name'));
  const route = classifyInboundRequest({
    httpMethod: 'POST',
    body: envelope.message,
    ...(versionHeader !== undefined && { protocolVersionHeader: versionHeader }),
    ...(methodHeader !== undefined && { mcpMethodHeader: methodHeader }),
    ...(nameHeader !== undefined && { mcpNameHeader: nameHeader }),
  });
  if (route.kind === 'reject') {
    if (route.code !== HEADER_MISMATCH) return { ok: true, era: 'other' };
    return mismatch(route.cell.includes('method') ? 'method_header_mismatch' : 'version_header_mismatch');
  }
  if (route.kind === 'legacy') return { ok: true, era: 'legacy' };
  // Presence is required on modern requests only; notifications are exempt.
  if (route.messageKind !== 'request') return { ok: true, era: 'modern' };
  if (versionHeader === undefined) return mismatch('version_header_missing');
  if (methodHeader === undefined) return mismatch('method_header_missing');
  const bodyName = nameInBody(route.message.method, route.message.params);
  if (nameHeader === undefined)
    return bodyName === undefined ? { ok: true, era: 'modern' } : mismatch('name_header_missing');
  if (!Object.hasOwn(NAME_SOURCE, route.message.method)) return { ok: true, era: 'modern' };
  const decoded = decodeHeaderValue(nameHeader);
  if (decoded === undefined) return mismatch('name_header_invalid');
  if (bodyName !== undefined && decoded !== bodyName) return mismatch('name_header_mismatch');
  return { ok: true, era: 'modern' };
}
