import type { z } from 'zod';
import type { Refusal } from '../http/answers';
import { paramDeclarations } from '../registry/param-headers';
import { isPlainObject } from './envelope';
import { decodeHeaderValue, HEADER_MISMATCH } from './headers';

/**
 * Declared `Mcp-Param-*` headers (2026-07-28, SEP-2243): a tool's input schema may mark a
 * primitive argument with `x-mcp-header: "Name"`; a client then mirrors that argument in an
 * `Mcp-Param-Name` header, and the server must refuse the call 400 / -32020 when the header is
 * missing, malformed or disagrees with the body. The SDK does this inside its handler, after our
 * gate, and exports none of it, so it is done here, before the gate, for the tools a caller may
 * see (a hidden tool is answered like an unknown one, whatever its headers say).
 *
 * The declarations are the registry's, checked when it loads (lib/registry/param-headers.ts).
 */

export type ParamHeaderReason = 'param_header_missing' | 'param_header_invalid' | 'param_header_mismatch';
export type ParamCheck =
  | { ok: true }
  | (Refusal & { ok: false; status: 400; code: typeof HEADER_MISMATCH; reason: ParamHeaderReason });

const HEADER_PREFIX = 'mcp-param-';
const DECIMAL = /^-?\d+(\.\d+)?$/;

// Fixed messages: neither a header value nor an argument is echoed back.
const MESSAGES: Record<ParamHeaderReason, string> = {
  param_header_missing: 'A declared Mcp-Param header is missing for an argument the body carries; nothing was executed',
  param_header_invalid: 'A declared Mcp-Param header is not validly encoded; nothing was executed',
  param_header_mismatch: 'A declared Mcp-Param header disagrees with the body arguments; nothing was executed',
};
const refuse = (reason: ParamHeaderReason): ParamCheck => ({
  ok: false,
  status: 400,
  code: HEADER_MISMATCH,
  reason,
  message: MESSAGES[reason],
});

function at(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (!isPlainObject(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** The header form of a body value; undefined for values no header can carry (the header is not expected). */
function asHeaderText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value)))
    return String(value);
  return undefined;
}

/**
 * The body's arguments against the declared headers. An absent or null argument expects no header
 * (one sent anyway is ignored); a present one needs its header, decoded equal (numbers numerically).
 */
export function checkParamHeaders(headers: Headers, input: z.ZodObject, args: unknown): ParamCheck {
  for (const declaration of paramDeclarations(input)) {
    const value = at(args, declaration.path);
    const expected = value === null ? undefined : asHeaderText(value);
    if (expected === undefined) continue;
    const raw = headers.get(`${HEADER_PREFIX}${declaration.header}`);
    if (raw === null) return refuse('param_header_missing');
    const decoded = decodeHeaderValue(raw.replace(/^[\t ]+|[\t ]+$/g, ''));
    if (decoded === undefined) return refuse('param_header_invalid');
    const numeric = declaration.type === 'integer' && typeof value === 'number' && DECIMAL.test(decoded);
    if (numeric ? Number(decoded) !== value : decoded !== expected) return refuse('param_header_mismatch');
  }
  return { ok: true };
}
