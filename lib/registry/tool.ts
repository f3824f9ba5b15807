import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { RateLimit } from '../limits';
import type { Access, PrincipalFor } from '../policy';
import { checkAccess, checkGoverned, checkShape, failFor, NAME_HINT, nameOf, PRIMITIVE_NAME } from './checks';
import type { Ask, HandlerContext } from './context';
import { paramHeaderProblem } from './param-headers';

/** A tool; `A`, its policy, types what the handler is given (`ToolDefinition<Input>` holds any tool). */
export type ToolDefinition<Input extends z.ZodObject = z.ZodObject, A extends Access = Access> = {
  name: string;
  title: string;
  description: string;
  /** Who may call it. Required; evaluated before dispatch and again inside the wrapper. */
  access: A;
  input: Input;
  /** Hints for clients only; never used for authorization. */
  annotations?: ToolAnnotations;
  /** Input fields safe to copy into the audit record; nothing else of the arguments is logged. */
  audit?: ReadonlyArray<keyof z.infer<Input> & string>;
  /**
   * Runs before the handler and may ask the user first (multi round-trip): return `input.ask(...)`
   * to ask, a result to answer without running the handler, or undefined to run it. A tool with
   * `ask` makes MCP_REQUEST_STATE_KEY required in production.
   */
  ask?: Ask<z.infer<Input>, CallToolResult, PrincipalFor<A>>;
  handler: (
    input: z.infer<Input>,
    context: HandlerContext<PrincipalFor<A>>,
  ) => CallToolResult | Promise<CallToolResult>;
  /** Calls per caller within a window, counted on every instance (docs/PRIMITIVES.md, "Rate limits and live tokens"). */
  rate?: RateLimit;
  /** Each call introspects the token at its issuer first, failing closed. */
  liveToken?: boolean;
};

/**
 * Declares a tool: one file under tools/, its policy first. Checked when the registry loads. The
 * policy types the handler's `principal` (`PrincipalFor`): a `UserPrincipal` unless public, with
 * `organizationId: string` when it requires an organization, roles or permissions.
 *
 * @example
 * export default defineTool({
 *   name: 'notes_list',
 *   access: { scopes: ['notes:read'], org: 'required' },
 *   title: 'List notes',
 *   description: 'List the notes of your organization',
 *   input: z.object({ limit: z.number().int().optional() }),
 *   handler: async ({ limit }, { principal }) => jsonResult({ notes: [] }),
 * });
 */
export function defineTool<Input extends z.ZodObject, const A extends Access>(
  definition: ToolDefinition<Input, A>,
): ToolDefinition<Input> {
  // Held like any tool: the wrapper calls the handler only for a caller the policy admits.
  return definition as ToolDefinition<Input>;
}

/** A handler result carrying JSON both as text (older clients) and as structured content. */
export function jsonResult(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value };
}

/** A tool's failure as the caller sees it: an `isError` result with one fixed text, never internals. */
export function toolError(text: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }] };
}

const ShapeSchema = z.object({
  name: z.string(),
  title: z.string().min(1),
  description: z.string().min(1),
  access: z.unknown(),
  input: z.instanceof(z.ZodObject, { message: 'input must be a z.object(...)' }),
  annotations: z.record(z.string(), z.unknown()).optional(),
  audit: z.array(z.string()).optional(),
  ask: z.custom<(...args: unknown[]) => unknown>((v) => typeof v === 'function', 'ask must be a function').optional(),
  handler: z.custom<(...args: unknown[]) => unknown>((v) => typeof v === 'function', 'handler must be a function'),
});

export function checkTool(tool: unknown, index: number): ToolDefinition {
  const name = nameOf(tool, index);
  const fail = failFor('tool', name);
  checkShape(ShapeSchema, tool, fail);
  if (!PRIMITIVE_NAME.test(name)) fail(NAME_HINT);
  const definition = tool as ToolDefinition;
  checkAccess(definition.access, fail);
  checkGoverned(definition, fail);
  const paramProblem = paramHeaderProblem(definition.input);
  if (paramProblem) fail(`input schema: ${paramProblem}`);
  const inputKeys = Object.keys(definition.input.shape);
  for (const field of definition.audit ?? []) {
    if (!inputKeys.includes(field)) fail(`audit field "${field}" is not an input field`);
  }
  return definition;
}
