import type { ServerOptions } from '@modelcontextprotocol/server';

/**
 * Cache hints chosen per method, never inherited (2026-07-28 `ttlMs` / `cacheScope`).
 *
 * - Lists are filtered per caller (`tools/list` shows only what this caller may reach), so they
 *   are `private`, always, with a short TTL (`MCP_LIST_TTL_MS`): a shared cache holding one
 *   caller's list would show privileged tool names to others.
 * - `resources/read` answers per caller too, and is not reused: `private`, TTL 0.
 * - `server/discover` is the same for every caller, anonymous included (protocol versions,
 *   capabilities, server info; nothing per caller), so it may be `public`. A test pins that
 *   sameness; if discover ever varies by caller this must become `private`.
 *
 * HTTP caching is separate: every /mcp answer is `Cache-Control: no-store` (`withNoStore`), so no
 * intermediary stores a response that may carry a caller's data.
 */

export type CacheHints = NonNullable<ServerOptions['cacheHints']>;

const DISCOVER_TTL_MS = 300_000;

export function cacheHintsFor(listTtlMs: number): CacheHints {
  const callerFiltered = { ttlMs: listTtlMs, cacheScope: 'private' } as const;
  return {
    'tools/list': callerFiltered,
    'prompts/list': callerFiltered,
    'resources/list': callerFiltered,
    'resources/templates/list': callerFiltered,
    'resources/read': { ttlMs: 0, cacheScope: 'private' },
    'server/discover': { ttlMs: DISCOVER_TTL_MS, cacheScope: 'public' },
  };
}

/** The methods whose results depend on who asks: their hints must never be `public`. */
export const CALLER_FILTERED_METHODS = [
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
] as const;

/** The response with `Cache-Control: no-store` unless it already says no-store. */
export function withNoStore(response: Response): Response {
  const existing = response.headers.get('cache-control');
  if (/\bno-store\b/.test(existing ?? '')) return response;
  // Added to what is there: the SDK's SSE answers say `no-cache, no-transform`, and no-transform
  // keeps Next.js from compressing a stream (which it reports as aborted when a client hangs up).
  const value = existing ? `${existing}, no-store` : 'no-store';
  // In place when the headers are mutable (the SDK's own responses), without re-wrapping the body.
  try {
    response.headers.set('cache-control', value);
    return response;
  } catch {
    // immutable headers (a fetched response): copy below
  }
  const headers = new Headers(response.headers);
  headers.set('cache-control', value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
