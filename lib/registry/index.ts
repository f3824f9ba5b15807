import { UriTemplate } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { type Approval, ApprovalSchema } from '../auth/approvals';
import { callersOf, requiredScopes, ScopeSchema } from '../policy';
import { hierarchyProblem, NO_HIERARCHY, type ScopeHierarchy } from '../scope-hierarchy';
import { RegistryError } from './checks';
import { checkPrompt, type PromptDefinition } from './prompt';
import { checkResource, isTemplate, type ResourceDefinition } from './resource';
import { checkTool, type ToolDefinition } from './tool';

/**
 * The one registry of tools, resources and prompts, each declared in its own file with
 * `defineTool`, `defineResource` or `definePrompt` and checked here when the registry loads: a
 * misdeclared primitive stops the server and fails the tests with its name in the message.
 */

export type { Approval } from '../auth/approvals';
export type { Ask, HandlerContext, InputContext } from './context';
export { RegistryError } from './checks';
export { definePrompt, type PromptDefinition } from './prompt';
export { defineResource, type Completer, type ResourceDefinition } from './resource';
export { defineTool, jsonResult, toolError, type ToolDefinition } from './tool';

export type Primitive =
  | { kind: 'tool'; definition: ToolDefinition }
  | { kind: 'resource'; definition: ResourceDefinition }
  | { kind: 'prompt'; definition: PromptDefinition };

export type Registry = {
  readonly tools: readonly ToolDefinition[];
  readonly resources: readonly ResourceDefinition[];
  readonly prompts: readonly PromptDefinition[];
  /** The tool with this name. */
  get(name: string): ToolDefinition | undefined;
  prompt(name: string): PromptDefinition | undefined;
  /**
   * The resource `resources/read` of `uri` reaches, found the way the SDK finds it (the exact
   * static URI, else the first template that matches, in declaration order) among those `include` keeps.
   */
  resource(
    uri: string,
    include?: (resource: ResourceDefinition) => boolean,
  ): { definition: ResourceDefinition; variables: Record<string, string> } | undefined;
  /** The resource declared with exactly this URI or URI template (what a completion/complete reference names). */
  declaredAt(uri: string): ResourceDefinition | undefined;
  /** Whether some primitive may ask the user for input (then a request-state key is needed). */
  readonly interactive: boolean;
  /** Every scope some primitive requires or the hierarchy declares, for RFC 9728 `scopes_supported`. */
  scopes(): string[];
  /** Which scope implies which (SEP-2350); checked, frozen, passed to every `evaluate`. */
  readonly scopeHierarchy: ScopeHierarchy;
  /** The approved clients (tools/approvals.ts), checked and frozen. */
  readonly approvals: readonly Approval[];
  /** Whether some non-public primitive admits machines (then `server/discover` advertises client credentials). */
  readonly acceptsMachines: boolean;
};

export type RegistryOptions = {
  /** scope -> the scopes it implies, e.g. `{ 'notes:admin': ['notes:read', 'notes:write'] }`. */
  scopeHierarchy?: Readonly<Record<string, readonly string[]>>;
  /** The approved clients: id, kind, owner, purpose, scope ceiling, expiry (lib/auth/approvals.ts). */
  approvals?: readonly unknown[];
};

function checkApprovals(raw: readonly unknown[] | undefined): readonly Approval[] {
  const seen = new Set<string>();
  return Object.freeze(
    (raw ?? []).map((entry, index) => {
      const parsed = ApprovalSchema.safeParse(entry);
      const id = typeof entry === 'object' && entry !== null ? (entry as { clientId?: unknown }).clientId : undefined;
      const name = typeof id === 'string' ? JSON.stringify(id) : `#${index}`;
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new RegistryError(
          `approval ${name}: ${issue?.path.join('.') || 'entry'}: ${issue?.message ?? 'invalid'}`,
        );
      }
      if (seen.has(parsed.data.clientId)) throw new RegistryError(`approval ${name}: listed twice`);
      seen.add(parsed.data.clientId);
      return Object.freeze({ ...parsed.data, scopes: Object.freeze([...parsed.data.scopes]) as string[] });
    }),
  );
}

const HierarchySchema = z.record(ScopeSchema, z.array(ScopeSchema));

function checkHierarchy(raw: unknown, declaredScopes: readonly string[]): ScopeHierarchy {
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
  const problem = hierarchyProblem(parsed.data, declaredScopes);
  if (problem) throw new RegistryError(`scope hierarchy: ${problem}`);
  return Object.freeze(
    Object.fromEntries(Object.entries(parsed.data).map(([scope, implied]) => [scope, Object.freeze([...implied])])),
  );
}

const kindOf = (definition: unknown): unknown =>
  typeof definition === 'object' && definition !== null ? (definition as { kind?: unknown }).kind : undefined;

/** Variables as plain strings: the SDK's match gives string or string[] (explode), and we never explode. */
function flatVariables(variables: Record<string, string | string[]>): Record<string, string> {
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]));
}

/** One list, in any order: `createRegistry([ping, whoami, noteResource, summarizeNotes])`. */
export function createRegistry(definitions: readonly unknown[], options: RegistryOptions = {}): Registry {
  const tools = definitions.filter((d) => kindOf(d) === undefined || kindOf(d) === 'tool').map(checkTool);
  const resources = definitions.filter((d) => kindOf(d) === 'resource').map(checkResource);
  const prompts = definitions.filter((d) => kindOf(d) === 'prompt').map(checkPrompt);
  const other = definitions.find((d) => !['tool', 'resource', 'prompt', undefined].includes(kindOf(d) as string));
  if (other !== undefined) throw new RegistryError(`unknown primitive kind ${JSON.stringify(kindOf(other))}`);

  const unique = <T>(kind: string, items: readonly T[], keyOf: (item: T) => string, what = 'name') => {
    const seen = new Map<string, T>();
    for (const item of items) {
      const key = keyOf(item);
      if (seen.has(key)) throw new RegistryError(`${kind} "${key}": duplicate ${what}`);
      seen.set(key, item);
    }
    return seen;
  };
  const toolsByName = unique('tool', tools, (t) => t.name);
  const promptsByName = unique('prompt', prompts, (p) => p.name);
  unique('resource', resources, (r) => r.name);
  const byUri = unique('resource', resources, (r) => r.uri, 'URI');
  const templates = resources
    .filter(isTemplate)
    .map((definition) => ({ definition, uri: new UriTemplate(definition.uri) }));
  const statics = new Map([...byUri].filter(([, r]) => !isTemplate(r)));

  const all = [...tools, ...resources, ...prompts];
  const declaredScopes = [...new Set(all.flatMap((primitive) => requiredScopes(primitive.access)))];
  const scopeHierarchy = checkHierarchy(options.scopeHierarchy, declaredScopes);
  const scopes = [...new Set([...declaredScopes, ...Object.keys(scopeHierarchy)])].sort();
  return {
    tools,
    resources,
    prompts,
    get: (name) => toolsByName.get(name),
    prompt: (name) => promptsByName.get(name),
    resource(uri, include = () => true) {
      let href: string;
      try {
        href = new URL(uri).href;
      } catch {
        return undefined;
      }
      const exact = statics.get(href);
      if (exact && include(exact)) return { definition: exact, variables: {} };
      for (const template of templates) {
        if (!include(template.definition)) continue;
        const variables = template.uri.match(href);
        if (variables) return { definition: template.definition, variables: flatVariables(variables) };
      }
      return undefined;
    },
    declaredAt: (uri) => byUri.get(uri),
    interactive: all.some((primitive) => primitive.ask !== undefined),
    scopes: () => [...scopes],
    scopeHierarchy,
    approvals: checkApprovals(options.approvals),
    acceptsMachines: all.some(
      (primitive) => primitive.access !== 'public' && callersOf(primitive.access).includes('machine'),
    ),
  };
}
