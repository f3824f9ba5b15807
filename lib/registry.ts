import type { CallToolResult, LoggingLevel, ToolAnnotations } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { IdentityLookup } from './auth/identity';
import type { Principal } from './auth/principal';
import { AccessSchema, ScopeSchema, requiredScopes, type Access } from './policy';
import { paramHeaderProblem } from './wire/params';
import { hierarchyProblem, NO_HIERARCHY, OFFLINE_ACCESS, type ScopeHierarchy } from './scope-hierarchy';

/**
 * Tools are declared with `defineTool` (one per file under tools/) and checked when the registry
 * loads: a misdeclared tool stops the server and fails the tests with the tool's name in the message.
 */

export type ToolContext = {
  /** The verified caller. Never the token: tools cannot leak what they never see. */
  principal: Principal;
  /** WorkOS lookups (profile, organization members), fetched only when called; undefined when not configured. */
  identity?: IdentityLookup;
  /** Aborts when the client disconnects or the request ends: long tools should stop and return. */
  signal?: AbortSignal;
  /**
   * Reports progress on this call's response stream; present only when the client asked for
   * progress (a `progressToken` in the request's `_meta`).
   */
  progress?: (progress: number, total?: number, message?: string) => Promise<void>;
  /**
   * A log message on this call's response stream, sent only at or above the level the client set
   * (2026-07-28: `_meta` logLevel; none set, nothing sent). Never put secrets or tokens in `data`.
   */
  log?: (level: LoggingLevel, data: unknown) => Promise<void>;
};

export type ToolDefinition<Input extends z.ZodObject = z.ZodObject> = {
  name: string;
  title: string;
  description: string;
  /** Who may call it. Required; evaluated before dispatch and again inside the wrapper. */
  access: Access;
  input: Input;
  /** Hints for clients only; never used for authorization. */
  annotations?: ToolAnnotations;
  /** Input fields safe to copy into the audit record; nothing else of the arguments is logged. */
  audit?: ReadonlyArray<keyof z.infer<Input> & string>;
  handler: (input: z.infer<Input>, context: ToolContext) => CallToolResult | Promise<CallToolResult>;
};

/** Keeps the input type flowing into the handler; validation happens when the registry loads. */
export function defineTool<Input extends z.ZodObject>(definition: ToolDefinition<Input>): ToolDefinition<Input> {
  return definition;
}

/** A handler result carrying JSON both as text (older clients) and as structured content. */
export function jsonResult(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value };
}

/** A tool's failure as the caller sees it: an `isError` result with one fixed text, never internals. */
export function toolError(text: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }] };
}

export class RegistryError extends Error {
  override name = 'RegistryError';
}

// MCP tool names: 1-128 of [A-Za-z0-9_.-]; we keep them short and lower-case for readable policies.
const TOOL_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

const ShapeSchema = z.object({
  name: z.string(),
  title: z.string().min(1),
  description: z.string().min(1),
  access: z.unknown(),
  input: z.instanceof(z.ZodObject, { message: 'input must be a z.object(...)' }),
  annotations: z.record(z.string(), z.unknown()).optional(),
  audit: z.array(z.string()).optional(),
  handler: z.custom<(...args: unknown[]) => unknown>((v) => typeof v === 'function', 'handler must be a function'),
});

function checkTool(tool: unknown, index: number): ToolDefinition {
  const name = typeof tool === 'object' && tool !== null && 'name' in tool ? String(tool.name) : `#${index}`;
  const fail = (why: string): never => {
    throw new RegistryError(`tool "${name}": ${why}`);
  };
  const shape = ShapeSchema.safeParse(tool);
  if (!shape.success)
    fail(shape.error.issues.map((i) => `${i.path.join('.') || 'definition'}: ${i.message}`).join('; '));
  if (!TOOL_NAME.test(name)) fail('invalid name: use 1-64 characters of a-z, 0-9, _ and -, starting with a letter');
  const definition = tool as ToolDefinition;
  if (definition.access === undefined)
    fail('has no access policy; declare access: "public", "signed-in" or { scopes, permissions, roles, org }');
  const access = AccessSchema.safeParse(definition.access);
  if (!access.success) {
    const keys =
      typeof definition.access === 'object' && definition.access !== null ? Object.keys(definition.access) : [];
    const unknown = keys.filter((k) => !['scopes', 'permissions', 'roles', 'org'].includes(k));
    fail(
      unknown.length
        ? `unknown policy key(s): ${unknown.join(', ')}`
        : `invalid access policy: ${access.error.issues[0]?.message ?? 'unrecognized'}`,
    );
  }
  const policy = access.data as Access;
  if (typeof policy === 'object') {
    const requiresSomething =
      (policy.scopes?.length ?? 0) + (policy.permissions?.length ?? 0) + (policy.roles?.length ?? 0) > 0 ||
      policy.org === 'required';
    if (!requiresSomething) fail('a non-public policy must require something; use "signed-in" or "public" explicitly');
    if (policy.scopes?.includes(OFFLINE_ACCESS))
      fail(`"${OFFLINE_ACCESS}" requests a refresh token and grants nothing here; it cannot be required`);
  }
  const paramProblem = paramHeaderProblem(definition.input);
  if (paramProblem) fail(`input schema: ${paramProblem}`);
  const inputKeys = Object.keys(definition.input.shape);
  for (const field of definition.audit ?? []) {
    if (!inputKeys.includes(field)) fail(`audit field "${field}" is not an input field`);
  }
  return definition;
}

export type Registry = {
  readonly tools: readonly ToolDefinition[];
  get(name: string): ToolDefinition | undefined;
  /** Every scope some tool requires or the hierarchy declares, for RFC 9728 `scopes_supported`. */
  scopes(): string[];
  /** Which scope implies which (SEP-2350); checked, frozen, passed to every `evaluate`. */
  readonly scopeHierarchy: ScopeHierarchy;
};

export type RegistryOptions = {
  /** scope -> the scopes it implies, e.g. `{ 'notes:admin': ['notes:read', 'notes:write'] }`. */
  scopeHierarchy?: Readonly<Record<string, readonly string[]>>;
};

const HierarchySchema = z.record(ScopeSchema, z.array(ScopeSchema));

function checkHierarchy(raw: unknown, toolScopes: readonly string[]): ScopeHierarchy {
  if (raw === undefined) return NO_HIERARCHY;
  const badKey =
    typeof raw === 'object' && raw !== null
      ? Object.keys(raw).find((k) => !ScopeSchema.safeParse(k).success)
      : undefined;
  if (badKey !== undefined)
    throw new RegistryError(`scope hierarchy: ${JSON.stringify(badKey)} is not a valid OAuth scope token`);
  const parsed = HierarchySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RegistryError(`scope hierarchy: ${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`);
  }
  const problem = hierarchyProblem(parsed.data, toolScopes);
  if (problem) throw new RegistryError(`scope hierarchy: ${problem}`);
  return Object.freeze(
    Object.fromEntries(Object.entries(parsed.data).map(([scope, implied]) => [scope, Object.freeze([...implied])])),
  );
}

export function createRegistry(tools: readonly unknown[], options: RegistryOptions = {}): Registry {
  const checked = tools.map(checkTool);
  const byName = new Map<string, ToolDefinition>();
  for (const tool of checked) {
    if (byName.has(tool.name)) throw new RegistryError(`tool "${tool.name}": duplicate name`);
    byName.set(tool.name, tool);
  }
  const toolScopes = [...new Set(checked.flatMap((tool) => requiredScopes(tool.access)))];
  const scopeHierarchy = checkHierarchy(options.scopeHierarchy, toolScopes);
  const scopes = [...new Set([...toolScopes, ...Object.keys(scopeHierarchy)])].sort();
  return {
    tools: checked,
    get: (name) => byName.get(name),
    scopes: () => [...scopes],
    scopeHierarchy,
  };
}
