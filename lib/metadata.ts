import type { Config } from './config';
import { advertisedScopes } from './scope-hierarchy';

/** RFC 9728 protected resource metadata; `resource` comes from config, never from Host headers. */
export function protectedResourceMetadata(config: Config, scopes: readonly string[]): Record<string, unknown> {
  // Never offline_access (SEP-2207): it is the authorization server's business, not this resource's.
  const supported = advertisedScopes(scopes);
  return {
    resource: config.resourceUrl,
    authorization_servers: [config.issuer],
    ...(supported.length > 0 ? { scopes_supported: supported } : {}),
    bearer_methods_supported: ['header'],
    resource_name: 'Edge MCP server (AuthKit)',
  };
}

/** Public documents any browser-based MCP client may read. */
const PUBLIC_CORS_HEADERS: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, OPTIONS',
  'access-control-allow-headers': 'mcp-protocol-version, content-type',
};

export function publicJson(
  body: unknown,
  init: { status?: number; maxAge?: number; headers?: Record<string, string> } = {},
): Response {
  return new Response(JSON.stringify(body), {
    status: init.status ?? 200,
    headers: {
      'content-type': 'application/json',
      'cache-control': init.maxAge ? `public, max-age=${init.maxAge}` : 'no-store',
      ...PUBLIC_CORS_HEADERS,
      ...init.headers,
    },
  });
}

export function publicPreflight(): Response {
  return new Response(null, { status: 204, headers: { ...PUBLIC_CORS_HEADERS, 'access-control-max-age': '86400' } });
}

const AS_METADATA_TTL_MS = 5 * 60_000;
/** After a failed fetch, answer "unavailable" at once for as long as the 503's Retry-After says. */
export const AS_METADATA_RETRY_MS = 10_000;
let asMetadata: { issuer: string; body: unknown; fetchedAt: number } | undefined;
let asFailure: { issuer: string; until: number } | undefined;

/**
 * The issuer's RFC 8414 metadata, mirrored for 2025-03-26 clients that look for it on the MCP host.
 * Cached per isolate; refused (not mirrored) if the document names another issuer. A failure is
 * remembered briefly, so an outage at the issuer is not multiplied by every client retrying here.
 */
export async function authorizationServerMetadata(
  config: Config,
  fetchImpl: typeof fetch = fetch,
  /** Injected in tests to step past the failure and success caches. */
  now: () => number = Date.now,
): Promise<unknown | undefined> {
  const at = now();
  if (asMetadata?.issuer === config.issuer && at - asMetadata.fetchedAt < AS_METADATA_TTL_MS) return asMetadata.body;
  if (asFailure?.issuer === config.issuer && at < asFailure.until) return undefined;
  const body = await fetchMetadata(config.issuer, fetchImpl);
  if (body === undefined) {
    asFailure = { issuer: config.issuer, until: at + AS_METADATA_RETRY_MS };
    return undefined;
  }
  asMetadata = { issuer: config.issuer, body, fetchedAt: at };
  asFailure = undefined;
  return body;
}

async function fetchMetadata(issuer: string, fetchImpl: typeof fetch): Promise<unknown | undefined> {
  try {
    const response = await fetchImpl(`${issuer}/.well-known/oauth-authorization-server`, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) return undefined;
    const body: unknown = await response.json();
    if (typeof body !== 'object' || body === null || (body as { issuer?: unknown }).issuer !== issuer) return undefined;
    return body;
  } catch {
    return undefined;
  }
}
