import { z } from 'zod';

/**
 * Declared `Mcp-Param-*` headers (2026-07-28, SEP-2243): a tool's input schema may mark a
 * primitive argument with `x-mcp-header: "Name"`. The declarations are read from the same JSON
 * Schema `tools/list` shows (zod's, input side), checked when the registry loads
 * (`paramHeaderProblem`) and cached per input schema; lib/wire/params.ts checks a call's headers
 * against them.
 */

export type ParamDeclaration = {
  /** Property names from the arguments object down to the annotated value. */
  path: readonly string[];
  header: string;
  type: 'string' | 'integer' | 'boolean' | 'number';
};

const KEY = 'x-mcp-header';
// RFC 9110 token: what a header field name may be.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PRIMITIVE = new Set(['string', 'integer', 'boolean']);

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

/** The declarations of a tool's input schema (scanned once per schema). */
export function paramDeclarations(input: z.ZodObject): readonly ParamDeclaration[] {
  return scanOf(input).declarations;
}
