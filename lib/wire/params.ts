import { z } from 'zod';
import { decodeHeaderValue, HEADER_MISMATCH } from './headers';

/**
 * Declared `Mcp-Param-*` headers (2026-07-28, SEP-2243): a tool's input schema may mark a
 * primitive argument with `x-mcp-header: "Name"`; a client then mirrors that argument in an
 * `Mcp-Param-Name` header, and the server must refuse the call 400 / -32020 when the header is
 * missing, malformed or disagrees with the body. The SDK does this inside its handler, after our
 * gate, and exports none of it, so it is done here, before the gate, for the tools a caller may
 * see (a hidden tool is answered like an unknown one, whatever its headers say).
 *
 * Declarations are read from the same JSON Schema `tools/list` shows (zod's, input side), checked
 * when the registry loads (`paramHeaderProblem`), and cached per tool definition.
 */

export type ParamDeclaration = {
  /** Property names from the arguments object down to the annotated value. */
  path: readonly string[];
  header: string;
  type: 'string' | 'integer' | 'boolean' | 'number';
};

export type ParamHeaderReason = 'param_header_missing' | 'param_header_invalid' | 'param_header_mismatch';
export type ParamCheck =
  | { ok: true }
  | { ok: false; status: 400; code: typeof HEADER_MISMATCH; reason: ParamHeaderReason; message: string };

const KEY = 'x-mcp-header';
const HEADER_PREFIX = 'mcp-param-';
// RFC 9110 token: what a header field name may be.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PRIMITIVE = new Set(['string', 'integer', 'boolean']);
const DECIMAL = /^-?\d+(\.\d+)?$/;

type Scan = { declarations: ParamDeclaration[]; problem?: string };

const isNode = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every `x-mcp-header` in the schema; a problem when one is anywhere but a `properties` chain, or is malformed. */
function scan(schema: unknown): Scan {
  const declarations: ParamDeclaration[] = [];
  const names = new Set<string>();
  const problems: string[] = [];
  const visit = (node: unknown, path: string[], onChain: boolean): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, path, false);
      return;
    }
    if (!isNode(node)) return;
    if (Object.hasOwn(node, KEY)) {
      const header = node[KEY];
      const type = node.type;
      const where = path.join('.') || '<root>';
      if (!onChain || path.length === 0)
        problems.push(`${where}: ${KEY} is allowed only on properties reached through "properties"`);
      else if (typeof header !== 'string' || !TOKEN.test(header))
        problems.push(`${where}: ${KEY} must be a header-name token`);
      else if (typeof type !== 'string' || !PRIMITIVE.has(type))
        problems.push(`${where}: ${KEY} is allowed only on string, integer or boolean properties`);
      else if (names.has(header.toLowerCase())) problems.push(`${where}: ${KEY} "${header}" is declared twice`);
      else {
        names.add(header.toLowerCase());
        declarations.push({ path, header, type: type as ParamDeclaration['type'] });
      }
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === KEY) continue;
      if (key === 'properties' && isNode(value)) {
        for (const [name, child] of Object.entries(value)) visit(child, [...path, name], onChain);
      } else visit(value, path, false);
    }
  };
  visit(schema, [], true);
  return { declarations, problem: problems[0] };
}

const scans = new WeakMap<z.ZodObject, Scan>();
function scanOf(input: z.ZodObject): Scan {
  let found = scans.get(input);
  if (!found) {
    found = scan(z.toJSONSchema(input, { io: 'input', unrepresentable: 'any' }));
    scans.set(input, found);
  }
  return found;
}

/** Why a tool's `x-mcp-header` declarations are invalid, or undefined (the registry refuses such a tool). */
export function paramHeaderProblem(input: z.ZodObject): string | undefined {
  return scanOf(input).problem;
}

export function paramDeclarations(input: z.ZodObject): readonly ParamDeclaration[] {
  return scanOf(input).declarations;
}

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
    if (!isNode(node) || !Object.hasOwn(node, key)) return undefined;
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
