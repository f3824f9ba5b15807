import { NextResponse, type NextFetchEvent, type NextRequest } from 'next/server';
import { audit, flushAuditAfter, httpAuditSinkFor } from '@/lib/audit';
import { getConfig } from '@/lib/config';
import { jsonRpcErrorResponse, RPC_ERRORS } from '@/lib/http';
import { checkOrigin, MCP_CORS_HEADERS, SECURITY_HEADERS } from '@/lib/origin';

/** First stop of every request: Origin allowlist and CORS for /mcp, security headers everywhere. */
export function middleware(request: NextRequest, event: NextFetchEvent): Response {
  const isMcp = request.nextUrl.pathname === '/mcp';
  const extra: Record<string, string> = { ...SECURITY_HEADERS };
  if (getConfigSafe()?.production) extra['strict-transport-security'] = 'max-age=63072000; includeSubDomains';

  if (isMcp) {
    const config = getConfigSafe();
    if (!config) return withHeaders(jsonRpcErrorResponse(500, { code: RPC_ERRORS.internal, message: 'Server misconfigured' }), extra);
    const origin = checkOrigin(request.headers.get('origin'), config.allowedOrigins);
    if (origin.kind === 'forbidden') {
      // Refused before the route: audited here, or the trail would never see it.
      httpAuditSinkFor(config);
      audit({
        type: 'request_rejected',
        requestId: crypto.randomUUID(),
        method: request.method === 'OPTIONS' ? 'preflight' : undefined,
        decision: 'reject',
        reason: 'origin_not_allowed',
        status: 403,
        durationMs: 0,
      });
      const refused = withHeaders(
        jsonRpcErrorResponse(403, { code: RPC_ERRORS.forbidden, message: 'Origin not allowed', reason: 'origin_not_allowed' }),
        { ...extra, vary: 'Origin' },
      );
      return flushAuditAfter(refused, config, (task) => event.waitUntil(task));
    }
    if (origin.kind === 'allowed') {
      extra['access-control-allow-origin'] = origin.origin;
      extra.vary = 'Origin';
      Object.assign(extra, MCP_CORS_HEADERS);
      if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers: extra });
    }
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
