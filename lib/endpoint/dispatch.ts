import type { McpServer, ServerOptions } from '@modelcontextprotocol/server';
import { createMcpHandler } from 'mcp-handler';
import type { AuditSink } from '../audit/log';
import type { Principal } from '../auth/principal';
import { DEFAULT_LIST_TTL_MS } from '../config';
import { evaluate, type Access, type MembershipAnswer } from '../policy';
import { NO_HIERARCHY, type ScopeHierarchy } from '../scope-hierarchy';
import type { PromptDefinition, Registry, ResourceDefinition, ToolDefinition } from '../registry';
import { observeAnswers } from '../telemetry/answers';
import { cacheHintsFor } from '../wire/cache';
import type { Envelope } from '../wire/envelope';
import { isVisible, type GatedCall } from './gate';
import { cachedListing } from './listing';
import type { RequestStateHooks } from './request-state';
import { registerCompletion, registerPrompt, registerResource, registerTool } from './wrapper';

export { authInfoFor, type BoundCall, callerOf, type CallerContext } from './caller';

/**
 * Dispatch through mcp-handler with a server that registers only the primitives this caller may
 * see. Handlers are cached per visible set (a handful of sets in practice), and the principal
 * travels per request in `authInfo.extra`, so one cached handler serves every caller of its set.
 */

/** What one caller's server registers, and which capabilities the registry offers at all. */
export type ServeSet = {
  tools: readonly ToolDefinition[];
  resources?: readonly ResourceDefinition[];
  prompts?: readonly PromptDefinition[];
  /** Declared whenever the registry has such primitives, so a caller who sees none gets an empty list, not -32601. */
  offers?: { resources: boolean; prompts: boolean; completions: boolean };
  /**
   * A lone `tools/list`: the server answers it from the cached listing of `tools` and registers
   * nothing, since registering every visible primitive per request was most of a listing's cost.
   */
  listOnly?: boolean;
};

/** The capabilities a server with these primitives declares. */
const offersOf = (resources: readonly ResourceDefinition[], prompts: readonly PromptDefinition[]) => ({
  resources: resources.length > 0,
  prompts: prompts.length > 0,
  completions: resources.some((r) => r.complete) || prompts.some((p) => p.complete),
});

/**
 * One allowed call needs only its primitive; anything else (lists, batches, unknown or hidden
 * names) gets every primitive the caller may see, so hidden and unknown answer alike.
 */
export function serveSet(
  registry: Registry,
  envelope: Envelope,
  calls: readonly GatedCall[],
  principal: Principal,
  membership: MembershipAnswer | undefined,
): ServeSet {
  const only = !envelope.batch && calls.length === 1 ? calls[0] : undefined;
  if (only?.decision.effect === 'allow') {
    // The one call's primitive, and only the capabilities it needs (handlerFor's default offers):
    // nothing else is asked of this server in this request, and registering the rest was a measurable cost.
    const { kind, definition } = only.primitive;
    return {
      tools: kind === 'tool' ? [definition] : [],
      resources: kind === 'resource' ? [definition] : [],
      prompts: kind === 'prompt' ? [definition] : [],
    };
  }
  const offers = offersOf(registry.resources, registry.prompts);
  const visible = <T extends { access: Access }>(definitions: readonly T[]) =>
    definitions.filter((definition) =>
      isVisible(evaluate(definition.access, principal, membership, registry.scopeHierarchy)),
    );
  // A lone tools/list needs the caller's listing and nothing registered (handlerFor, below).
  if (!envelope.batch && envelope.method === 'tools/list')
    return { tools: visible(registry.tools), offers, listOnly: true };
  return {
    tools: visible(registry.tools),
    resources: visible(registry.resources),
    prompts: visible(registry.prompts),
    offers,
  };
}

/** How a cached server is built; the defaults serve a test or a bench that calls handlerFor alone. */
export type DispatchOptions = {
  listTtlMs?: number;
  /** The registry's scope hierarchy, for the wrapper's authoritative re-check. */
  hierarchy?: ScopeHierarchy;
  /** Seals and verifies multi round-trip state (lib/endpoint/request-state.ts). */
  requestState?: RequestStateHooks;
  /** Where the wrapper writes the record of a caller no endpoint minted (default stdout). */
  auditLine?: AuditSink;
  /** Some primitive admits machines: advertise the OAuth client-credentials extension (SEP-1046). */
  clientCredentials?: boolean;
};

/** The extension a machine client looks for before it asks for a client-credentials token. */
export const CLIENT_CREDENTIALS_EXTENSION = 'io.modelcontextprotocol/oauth-client-credentials';

const SERVER_INFO = { name: 'edge-mcp-authkit', version: '0.1.0' };
const MAX_CACHED_HANDLERS = 64;

type Handler = (request: Request) => Promise<Response>;
const handlers = new Map<string, Handler>();
// Keyed by definition identity, not name: two registries may both have a tool called "x"; each
// registry's scope hierarchy is keyed the same way.
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

export function handlerFor(serve: readonly ToolDefinition[] | ServeSet, options: DispatchOptions = {}): Handler {
  const {
    listTtlMs = DEFAULT_LIST_TTL_MS,
    hierarchy = NO_HIERARCHY,
    requestState,
    auditLine,
    clientCredentials = false,
  } = options;
  const set: ServeSet = Array.isArray(serve) ? { tools: serve } : (serve as ServeSet);
  const resources = set.resources ?? [];
  const prompts = set.prompts ?? [];
  const offers = set.offers ?? offersOf(resources, prompts);
  const key = [
    listTtlMs,
    idOf(hierarchy),
    set.tools.map(idOf).join(','),
    resources.map(idOf).join(','),
    prompts.map(idOf).join(','),
    `${offers.resources}${offers.prompts}${offers.completions}`,
    requestState ? idOf(requestState) : '-',
    auditLine ? idOf(auditLine) : '-',
    set.listOnly ? 'list' : 'serve',
    clientCredentials ? 'cc' : '-',
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
        // The same for every caller (server/discover is cached publicly): it depends on the registry only.
        ...(clientCredentials && { extensions: { [CLIENT_CREDENTIALS_EXTENSION]: {} } }),
      },
      cacheHints: cacheHintsFor(listTtlMs),
      // Every echoed requestState is verified (integrity, caller, primitive, parameters, expiry) before a handler runs.
      ...(requestState && { requestState: { verify: requestState.verify } }),
    };
    const listing = cachedListing(set.tools);
    handler = createMcpHandler(
      (server: McpServer) => {
        observeAnswers(server);
        if (!set.listOnly) {
          const wrap = { hierarchy, requestState, auditLine };
          for (const tool of set.tools) registerTool(server, tool, wrap);
          for (const resource of resources) registerResource(server, resource, wrap);
          for (const prompt of prompts) registerPrompt(server, prompt, wrap);
          if (offers.completions) registerCompletion(server, { resources, prompts }, wrap);
        }
        // tools/list computed once per visible set (lib/endpoint/listing.ts), not per request; last,
        // because the SDK installs its own tools/list handler when the first tool is registered.
        listing(server);
      },
      // telemetry: false, mcp-handler's own spans would be a second span per message, parented the
      // other way round (lib/telemetry/ writes the conventions' span, with the policy decision on it).
      { serverInfo: SERVER_INFO, telemetry: false, ...options },
    );
    handlers.set(key, handler);
  }
  return handler;
}
