import type { AuthInfo, McpServer, ServerOptions } from '@modelcontextprotocol/server';
import { createMcpHandler } from 'mcp-handler';
import type { AuditRecord } from '../audit/record';
import type { IdentityLookup } from '../auth/identity';
import { ANONYMOUS, type Principal } from '../auth/principal';
import type { MembershipAnswer } from '../policy';
import { NO_HIERARCHY, type ScopeHierarchy } from '../scope-hierarchy';
import type { PromptDefinition, ResourceDefinition, ToolDefinition } from '../registry';
import { cacheHintsFor, DEFAULT_LIST_TTL_MS } from '../wire/cache';
import type { RequestStateHooks } from './request-state';
import { registerCompletion, registerPrompt, registerResource, registerTool } from './wrapper';

/**
 * Dispatch through mcp-handler with a server that registers only the primitives this caller may
 * see. Handlers are cached per visible set (a handful of sets in practice), and the principal
 * travels per request in `authInfo.extra`, so one cached handler serves every caller of its set.
 */

/** What one call of this request is bound to (a request state) and recorded as, by JSON-RPC id. */
export type BoundCall = {
  /** The trail key the wrapper begins with (lib/endpoint/audit-key.ts). */
  key: string;
  /** SHA-256 of the call's parameters (without `_meta`, `inputResponses`, `requestState`). */
  digest: string;
  /** What its audit record names: type, method, the primitive and its policy. */
  record: Pick<AuditRecord, 'type' | 'method' | 'tool' | 'resource' | 'prompt' | 'policy'>;
};

export type RequestIdentity = {
  principal: Principal;
  membership?: MembershipAnswer;
  requestId: string;
  /** Lazy WorkOS lookups for handlers that need more than the token says (profile, members). */
  lookup?: IdentityLookup;
  /** Asked before a handler runs: false once the request's audit is settled (lib/audit/trail.ts). */
  begin?: (key: string) => boolean;
  /** The calls of this request by JSON-RPC id; an id used twice in a batch is absent (nothing binds to it). */
  calls?: ReadonlyMap<string | number, BoundCall>;
  /** Writes a record of this request through its trail; without one, the stdout line alone. */
  write?: (record: Omit<AuditRecord, 'time'>) => void;
};

/** What one caller's server registers, and which capabilities the registry offers at all. */
export type ServeSet = {
  tools: readonly ToolDefinition[];
  resources?: readonly ResourceDefinition[];
  prompts?: readonly PromptDefinition[];
  /** Declared whenever the registry has such primitives, so a caller who sees none gets an empty list, not -32601. */
  offers?: { resources: boolean; prompts: boolean; completions: boolean };
};

const SERVER_INFO = { name: 'edge-mcp-authkit', version: '0.1.0' };
const MAX_CACHED_HANDLERS = 64;

type Handler = (request: Request) => Promise<Response>;
const handlers = new Map<string, Handler>();
// Keyed by definition identity, not name: two registries may both have a tool called "x"; each
// registry's frozen scope hierarchy is keyed the same way.
const ids = new WeakMap<object, number>();
let nextId = 0;
function idOf(definition: object): number {
  let id = ids.get(definition);
  if (id === undefined) {
    id = nextId++;
    ids.set(definition, id);
  }
  return id;
}

// The identities authInfoFor handed to the SDK. The wrapper trusts only these: an identity that
// merely has the right shape (from anywhere else) is treated as anonymous.
const minted = new WeakSet<RequestIdentity>();

/** AuthInfo for the SDK: identity only. `token` stays empty so no handler or log can echo it. */
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

export function identityOf(authInfo: AuthInfo | undefined): RequestIdentity {
  const identity = authInfo?.extra?.identity;
  // Anything this module did not mint is anonymous: private primitives then refuse (fail closed).
  return typeof identity === 'object' && identity !== null && minted.has(identity as RequestIdentity)
    ? (identity as RequestIdentity)
    : UNKNOWN_CALLER;
}

/**
 * @param hierarchy the registry's scope hierarchy, for the wrapper's authoritative re-check.
 * @param requestState seals and verifies multi round-trip state (lib/endpoint/request-state.ts).
 */
export function handlerFor(
  serve: readonly ToolDefinition[] | ServeSet,
  listTtlMs = DEFAULT_LIST_TTL_MS,
  hierarchy: ScopeHierarchy = NO_HIERARCHY,
  requestState?: RequestStateHooks,
): Handler {
  const set: ServeSet = Array.isArray(serve) ? { tools: serve } : (serve as ServeSet);
  const resources = set.resources ?? [];
  const prompts = set.prompts ?? [];
  const offers = set.offers ?? {
    resources: resources.length > 0,
    prompts: prompts.length > 0,
    completions: resources.some((r) => r.complete) || prompts.some((p) => p.complete),
  };
  const key = [
    listTtlMs,
    idOf(hierarchy),
    set.tools.map(idOf).join(','),
    resources.map(idOf).join(','),
    prompts.map(idOf).join(','),
    `${offers.resources}${offers.prompts}${offers.completions}`,
    requestState ? idOf(requestState) : '-',
  ].join(':');
  let handler = handlers.get(key);
  if (!handler) {
    if (handlers.size >= MAX_CACHED_HANDLERS) handlers.clear();
    const options: ServerOptions = {
      // logging: clients may set a level (conformance logging-set-level); no handler logs today.
      // listChanged false, explicitly (the SDK defaults it to true): on Edge nothing delivers it.
      capabilities: {
        tools: { listChanged: false },
        logging: {},
        ...(offers.resources && { resources: { listChanged: false } }),
        ...(offers.prompts && { prompts: { listChanged: false } }),
      },
      cacheHints: cacheHintsFor(listTtlMs),
      // Every echoed requestState is verified (integrity, caller, primitive, parameters, expiry) before a handler runs.
      ...(requestState && { requestState: { verify: requestState.verify } }),
    };
    handler = createMcpHandler(
      (server: McpServer) => {
        const wrap = { hierarchy, requestState };
        for (const tool of set.tools) registerTool(server, tool, wrap);
        for (const resource of resources) registerResource(server, resource, wrap);
        for (const prompt of prompts) registerPrompt(server, prompt, wrap);
        if (offers.completions) registerCompletion(server, { resources, prompts }, wrap);
      },
      { serverInfo: SERVER_INFO, ...options },
    );
    handlers.set(key, handler);
  }
  return handler;
}
