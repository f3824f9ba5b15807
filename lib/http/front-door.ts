import { getConfig, type Config } from '../config';
import { methodNotAllowed, misconfigured, RPC_ERRORS, type Refusal } from './answers';
import { checkOrigin, MCP_CORS_HEADERS, SECURITY_HEADERS } from './origin';

/**
 * The rules every request to /mcp meets before the endpoint: the Origin allowlist (403, audited
 * through the caller's `onRefused`), CORS for listed origins, preflights, JSON 405s for every method
 * but POST and OPTIONS, the security headers and HSTS in production. middleware.ts applies them to the requests its matcher selects,
 * and app/mcp/route.ts to every request it is handed (the matcher lets JSON POSTs skip the
 * middleware), so both paths answer alike from this one file. Applying them twice is harmless: a
 * request refused here is answered at once and never reaches the second application.
 */

/** Either the final answer, or the headers the response must carry when the request goes on. */
export type FrontDoor = { kind: 'answer'; response: Response } | { kind: 'pass'; headers: Record<string, string> };

/**
 * What the caller does with a request refused here: record it and answer it (lib/audit/refusals.ts),
 * or the trail would never see the request. Passed in, so this first stage imports no later one.
 */
export type OnRefused = (request: Request, config: Config, refusal: Refusal) => Response | Promise<Response>;

/** The methods /mcp serves: POST, and OPTIONS for preflights. */
const MCP_METHODS: ReadonlySet<string> = new Set(['POST', 'OPTIONS']);
const HSTS = 'max-age=63072000; includeSubDomains';

/** The configuration, or undefined when it does not load (the answer is then `misconfigured`). */
export function configOrUndefined(): Config | undefined {
  try {
    return getConfig();
  } catch {
    return undefined;
  }
}

/** The headers every response carries, on every path. */
export function siteHeaders(config: Config | undefined): Record<string, string> {
  const headers: Record<string, string> = { ...SECURITY_HEADERS };
  if (config?.production) headers['strict-transport-security'] = HSTS;
  return headers;
}

/** The /mcp rules for one request; a refusal goes through `onRefused` before it is answered. */
export async function mcpFrontDoor(
  request: Request,
  config: Config | undefined,
  onRefused: OnRefused,
): Promise<FrontDoor> {
  const headers = siteHeaders(config);
  if (!config) return answer(misconfigured(), headers);
  const origin = checkOrigin(request.headers.get('origin'), config.allowedOrigins);
  if (origin.kind === 'forbidden')
    return { kind: 'answer', response: await onRefused(request, config, originRefused(headers)) };
  if (origin.kind === 'allowed') {
    headers['access-control-allow-origin'] = origin.origin;
    headers.vary = 'Origin';
    Object.assign(headers, MCP_CORS_HEADERS);
    if (request.method === 'OPTIONS') return answer(new Response(null, { status: 204 }), headers);
  }
  if (!MCP_METHODS.has(request.method)) return answer(methodNotAllowed('POST'), headers);
  // OPTIONS without an Origin is not a preflight: say what the endpoint serves.
  if (request.method === 'OPTIONS')
    return answer(new Response(null, { status: 204 }), { ...headers, allow: 'OPTIONS, POST' });
  return { kind: 'pass', headers };
}

function originRefused(headers: Record<string, string>): Refusal {
  return {
    status: 403,
    code: RPC_ERRORS.forbidden,
    message: 'Origin not allowed',
    reason: 'origin_not_allowed',
    headers: { ...headers, vary: 'Origin' },
  };
}

function answer(response: Response, headers: Record<string, string>): FrontDoor {
  return { kind: 'answer', response: withHeaders(response, headers) };
}

/** The response with these headers set: in place when its headers are mutable, else on a copy. */
function withHeaders(response: Response, headers: Record<string, string>): Response {
  try {
    for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
    return response;
  } catch {
    // immutable headers (a fetched response): copy below
  }
  const copy = new Headers(response.headers);
  for (const [name, value] of Object.entries(headers)) copy.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: copy });
}

/**
 * A route handler behind the front door: every request the route is handed meets the same rules as
 * one the middleware saw, and what passes carries the same headers.
 */
export function behindFrontDoor(
  handler: (request: Request) => Promise<Response>,
  onRefused: OnRefused,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const door = await mcpFrontDoor(request, configOrUndefined(), onRefused);
    if (door.kind === 'answer') return door.response;
    return withHeaders(await handler(request), door.headers);
  };
}
