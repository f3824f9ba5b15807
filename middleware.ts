import { NextResponse, type NextFetchEvent, type NextRequest } from 'next/server';
import { finishAfter, openTrail } from '@/lib/audit/log';
import { getConfig } from '@/lib/config';
import { jsonRpcErrorResponse, methodNotAllowed, misconfigured, RPC_ERRORS } from '@/lib/http/answers';
import { checkOrigin, MCP_CORS_HEADERS, SECURITY_HEADERS } from '@/lib/http/origin';

/**
 * The methods /mcp serves: POST, and OPTIONS for preflights. Every other method a Request can carry
 * (PUT, PATCH, HEAD, GET, DELETE, WebDAV's, made-up tokens) is answered here with a JSON 405, before
 * Next's routing, whose own answers to them are empty 400s and 405s.
 */
const MCP_METHODS: ReadonlySet<string> = new Set(['POST', 'OPTIONS']);

/** First stop of every request: Origin allowlist, CORS and methods for /mcp, security headers everywhere. */
export async function middleware(request: NextRequest, event: NextFetchEvent): Promise<Response> {
  const isMcp = new URL(request.url).pathname === '/mcp';
  const config = getConfigSafe(); // read once: both the HSTS choice and /mcp's checks need it
  const extra: Record<string, string> = { ...SECURITY_HEADERS };
  if (config?.production) extra['strict-transport-security'] = 'max-age=63072000; includeSubDomains';

  if (isMcp) {
    if (!config) return withHeaders(misconfigured(), extra);
    const origin = checkOrigin(request.headers.get('origin'), config.allowedOrigins);
    if (origin.kind === 'forbidden') {
      // Refused before the route: audited here, or the trail would never see it.
      const trail = openTrail(config);
      await trail.reserve(1);
      trail.write({
        type: 'request_rejected',
        requestId: trail.requestId,
        method: request.method === 'OPTIONS' ? 'preflight' : undefined,
        decision: 'reject',
        reason: 'origin_not_allowed',
        status: 403,
        durationMs: 0,
      });
      const refused = withHeaders(
        jsonRpcErrorResponse(403, {
          code: RPC_ERRORS.forbidden,
          message: 'Origin not allowed',
          reason: 'origin_not_allowed',
        }),
        { ...extra, vary: 'Origin' },
      );
      return finishAfter(refused, trail, (task) => event.waitUntil(task));
    }
    if (origin.kind === 'allowed') {
      extra['access-control-allow-origin'] = origin.origin;
      extra.vary = 'Origin';
      Object.assign(extra, MCP_CORS_HEADERS);
      if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers: extra });
    }
    if (!MCP_METHODS.has(request.method)) return withHeaders(methodNotAllowed('POST'), extra);
    // OPTIONS without an Origin is not a preflight: say what the endpoint serves.
    if (request.method === 'OPTIONS')
      return new Response(null, { status: 204, headers: { ...extra, allow: 'OPTIONS, POST' } });
  }
  const response = NextResponse.next();
  for (const [name, value] of Object.entries(extra)) response.headers.set(name, value);
  return response;
}

function getConfigSafe() {
  try {
    return getConfig();
  } catch {
    return undefined;
  }
}

function withHeaders(response: Response, headers: Record<string, string>): Response {
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
};
