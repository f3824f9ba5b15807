import type { AuthInfo, CallToolResult, McpServer } from '@modelcontextprotocol/server';
import { createMcpHandler } from 'mcp-handler';
import { audit, identityFields, policyField } from './audit';
import type { IdentityLookup } from './auth/identity';
import { ANONYMOUS, type Principal } from './auth/principal';
import { cachedListing, listedInput } from './listing';
import { evaluate, type MembershipAnswer } from './policy';
import type { ToolDefinition } from './registry';
import { cacheHintsFor, DEFAULT_LIST_TTL_MS } from './wire/cache';

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
  /** Asked before a tool runs: false once the request's audit is settled (lib/audit-trail.ts). */
  begin?: (tool: string) => boolean;
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

const refusal = (text: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text }] });

function auditedArguments(tool: ToolDefinition, args: Record<string, unknown>): Record<string, unknown> | undefined {
  if (!tool.audit?.length) return undefined;
  return Object.fromEntries(tool.audit.filter((k) => k in args).map((k) => [k, args[k]]));
}

function registerTool(server: McpServer, tool: ToolDefinition): void {
  server.registerTool(
    tool.name,
    { title: tool.title, description: tool.description, inputSchema: listedInput(tool), annotations: tool.annotations },
    async (args: Record<string, unknown>, ctx) => {
      const started = performance.now();
      const identity = identityOf(ctx.http?.authInfo);
      // Its request was already settled (the client left, the call was recorded as not run): never run it now.
      if (identity.begin && !identity.begin(tool.name)) return refusal('The request has ended');
      const base = {
        type: 'tool_call' as const,
        requestId: identity.requestId,
        method: 'tools/call',
        tool: tool.name,
        policy: policyField(tool.access),
        ...identityFields(identity.principal),
        arguments: auditedArguments(tool, args),
      };
      // The authoritative check: the gate already ran, but the tool never trusts that it did.
      const decision = evaluate(tool.access, identity.principal, identity.membership);
      if (decision.effect !== 'allow') {
        audit({
          ...base,
          decision: 'deny',
          reason: `wrapper:${decision.effect}`,
          status: 200,
          outcome: 'not_run',
          durationMs: Math.round(performance.now() - started),
        });
        return refusal('Not authorized to call this tool');
      }
      try {
        const result = await tool.handler(args, {
          principal: identity.principal,
          identity: identity.lookup,
          signal: ctx.mcpReq.signal,
        });
        const outcome = result.isError ? 'tool_error' : 'ok';
        audit({
          ...base,
          decision: 'allow',
          status: 200,
          outcome,
          durationMs: Math.round(performance.now() - started),
        });
        return result;
      } catch {
        // The error stays server-side; the caller gets a fixed message with no stack or path.
        audit({
          ...base,
          decision: 'allow',
          status: 200,
          outcome: 'exception',
          durationMs: Math.round(performance.now() - started),
        });
        return refusal('The tool failed');
      }
    },
  );
}

export function handlerFor(tools: readonly ToolDefinition[], listTtlMs = DEFAULT_LIST_TTL_MS): Handler {
  const key = `${listTtlMs}:${tools.map(toolId).join(',')}`;
  let handler = handlers.get(key);
  if (!handler) {
    if (handlers.size >= MAX_CACHED_HANDLERS) handlers.clear();
    const listing = cachedListing(tools);
    handler = createMcpHandler(
      (server) => {
        for (const tool of tools) registerTool(server, tool);
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
