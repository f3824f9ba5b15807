import type { AuthInfo, McpServer } from '@modelcontextprotocol/server';
import { createMcpHandler } from 'mcp-handler';
import { audit } from '../audit/log';
import { identityFields, type AuditRecord } from '../audit/record';
import type { IdentityLookup } from '../auth/identity';
import { ANONYMOUS, type Principal } from '../auth/principal';
import { describeAccess, evaluate, type MembershipAnswer } from '../policy';
import { toolError, type ToolDefinition } from '../registry';
import { NO_HIERARCHY, type ScopeHierarchy } from '../scope-hierarchy';
import { cacheHintsFor, DEFAULT_LIST_TTL_MS } from '../wire/cache';
import { cachedListing, listedInput } from './listing';

/**
 * Dispatch through mcp-handler with a server that registers only the tools this caller may see.
 * Handlers are cached per visible tool set (a handful of sets in practice), and the principal
 * travels per request in `authInfo.extra`, so one cached handler serves every caller of its set.
 */

export type RequestIdentity = {
  principal: Principal;
  membership?: MembershipAnswer;
  requestId: string;
  /** Lazy WorkOS lookups for tools that need more than the token says (profile, members). */
  lookup?: IdentityLookup;
  /** Asked before a tool runs: false once the request's audit is settled (lib/audit/trail.ts). */
  begin?: (tool: string) => boolean;
  /** Writes a record of this request through its trail; without one, the stdout line alone. */
  write?: (record: Omit<AuditRecord, 'time'>) => void;
};

const SERVER_INFO = { name: 'edge-mcp-authkit', version: '0.1.0' };
const MAX_CACHED_HANDLERS = 64;

type Handler = (request: Request) => Promise<Response>;
const handlers = new Map<string, Handler>();
// Keyed by definition identity, not name: two registries may both have a tool called "x".
const toolIds = new WeakMap<ToolDefinition, number>();
let nextToolId = 0;
function toolId(tool: ToolDefinition): number {
  let id = toolIds.get(tool);
  if (id === undefined) {
    id = nextToolId++;
    toolIds.set(tool, id);
  }
  return id;
}

// The identities authInfoFor handed to the SDK. The wrapper trusts only these: an identity that
// merely has the right shape (from anywhere else) is treated as anonymous.
const minted = new WeakSet<RequestIdentity>();

/** AuthInfo for the SDK: identity only. `token` stays empty so no tool or log can echo it. */
export function authInfoFor(identity: RequestIdentity, resourceUrl: string): AuthInfo | undefined {
  Object.freeze(identity);
  minted.add(identity);
  const { principal } = identity;
  return {
    token: '',
    clientId: principal.kind === 'user' ? (principal.clientId ?? '') : '',
    scopes: principal.kind === 'user' ? principal.scopes : [],
    ...(principal.kind === 'user' ? { expiresAt: principal.expiresAt } : {}),
    resource: new URL(resourceUrl),
    extra: { identity },
  };
}

const UNKNOWN_CALLER: RequestIdentity = Object.freeze({ principal: ANONYMOUS, requestId: 'unknown' });

function identityOf(authInfo: AuthInfo | undefined): RequestIdentity {
  const identity = authInfo?.extra?.identity;
  // Anything this module did not mint is anonymous: private tools then refuse (fail closed).
  return typeof identity === 'object' && identity !== null && minted.has(identity as RequestIdentity)
    ? (identity as RequestIdentity)
    : UNKNOWN_CALLER;
}

function auditedArguments(tool: ToolDefinition, args: Record<string, unknown>): Record<string, unknown> | undefined {
  if (!tool.audit?.length) return undefined;
  return Object.fromEntries(tool.audit.filter((k) => k in args).map((k) => [k, args[k]]));
}

function registerTool(server: McpServer, tool: ToolDefinition, hierarchy: ScopeHierarchy): void {
  server.registerTool(
    tool.name,
    { title: tool.title, description: tool.description, inputSchema: listedInput(tool), annotations: tool.annotations },
    async (args: Record<string, unknown>, ctx) => {
      const started = performance.now();
      const identity = identityOf(ctx.http?.authInfo);
      // Its request was already settled (the client left, the call was recorded as not run): never run it now.
      if (identity.begin && !identity.begin(tool.name)) return toolError('The request has ended');
      const base = {
        type: 'tool_call' as const,
        requestId: identity.requestId,
        method: 'tools/call',
        tool: tool.name,
        policy: describeAccess(tool.access),
        ...identityFields(identity.principal),
        arguments: auditedArguments(tool, args),
      };
      // The authoritative check: the gate already ran, but the tool never trusts that it did.
      const decision = evaluate(tool.access, identity.principal, identity.membership, hierarchy);
      if (decision.effect !== 'allow') {
        (identity.write ?? audit)({
          ...base,
          decision: 'deny',
          reason: `wrapper:${decision.effect}`,
          status: 200,
          outcome: 'not_run',
          durationMs: Math.round(performance.now() - started),
        });
        return toolError('Not authorized to call this tool');
      }
      try {
        const progressToken = ctx.mcpReq._meta?.progressToken;
        const result = await tool.handler(args, {
          principal: identity.principal,
          identity: identity.lookup,
          signal: ctx.mcpReq.signal,
          ...(progressToken !== undefined && {
            progress: (progress: number, total?: number, message?: string) =>
              ctx.mcpReq.notify({
                method: 'notifications/progress',
                params: { progressToken, progress, ...(total !== undefined && { total }), ...(message && { message }) },
              }),
          }),
          log: (level, data) => ctx.mcpReq.log(level, data),
        });
        const outcome = result.isError ? 'tool_error' : 'ok';
        (identity.write ?? audit)({
          ...base,
          decision: 'allow',
          status: 200,
          outcome,
          durationMs: Math.round(performance.now() - started),
        });
        return result;
      } catch {
        // The error stays server-side; the caller gets a fixed message with no stack or path.
        (identity.write ?? audit)({
          ...base,
          decision: 'allow',
          status: 200,
          outcome: 'exception',
          durationMs: Math.round(performance.now() - started),
        });
        return toolError('The tool failed');
      }
    },
  );
}

// Hierarchies keyed by identity too: each registry has its own frozen one.
const hierarchyIds = new WeakMap<ScopeHierarchy, number>();
let nextHierarchyId = 0;
function hierarchyId(hierarchy: ScopeHierarchy): number {
  let id = hierarchyIds.get(hierarchy);
  if (id === undefined) {
    id = nextHierarchyId++;
    hierarchyIds.set(hierarchy, id);
  }
  return id;
}

/** @param hierarchy the registry's scope hierarchy, for the wrapper's authoritative re-check. */
export function handlerFor(
  tools: readonly ToolDefinition[],
  listTtlMs = DEFAULT_LIST_TTL_MS,
  hierarchy: ScopeHierarchy = NO_HIERARCHY,
): Handler {
  const key = `${listTtlMs}:${hierarchyId(hierarchy)}:${tools.map(toolId).join(',')}`;
  let handler = handlers.get(key);
  if (!handler) {
    if (handlers.size >= MAX_CACHED_HANDLERS) handlers.clear();
    const listing = cachedListing(tools);
    handler = createMcpHandler(
      (server) => {
        for (const tool of tools) registerTool(server, tool, hierarchy);
        listing(server);
      },
      // logging: clients may set a level (conformance logging-set-level); no tool logs today.
      // listChanged false, explicitly (the SDK defaults it to true): on Edge nothing delivers it.
      {
        serverInfo: SERVER_INFO,
        capabilities: { tools: { listChanged: false }, logging: {} },
        cacheHints: cacheHintsFor(listTtlMs),
      },
    );
    handlers.set(key, handler);
  }
  return handler;
}
