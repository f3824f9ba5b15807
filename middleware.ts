import { NextResponse, type NextFetchEvent, type NextRequest } from 'next/server';
import { auditRefusals } from '@/lib/audit/refusals';
import { configOrUndefined, mcpFrontDoor, siteHeaders } from '@/lib/http/front-door';

/**
 * Security headers on every path, and /mcp's front door (lib/http/front-door.ts) for the /mcp
 * requests the matcher selects: every method but POST and OPTIONS gets a JSON 405 here, before
 * Next's routing, whose own answers to methods a route does not export are empty 400s.
 */
export async function middleware(request: NextRequest, event: NextFetchEvent): Promise<Response> {
  const config = configOrUndefined(); // read once: both the HSTS choice and /mcp's checks need it
  let headers = siteHeaders(config);
  if (new URL(request.url).pathname === '/mcp') {
    const onRefused = auditRefusals((task) => event.waitUntil(task)); // a refused request is audited too
    const door = await mcpFrontDoor(request, config, onRefused);
    if (door.kind === 'answer') return door.response;
    headers = door.headers;
  }
  const response = NextResponse.next();
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

/**
 * Every path but Next's static files, except what MCP clients send most: a POST to /mcp with a JSON
 * Content-Type (the SDK clients send exactly `application/json`). A matcher cannot select by
 * method, so such a request skips the middleware whatever its method; app/mcp/route.ts applies the
 * same front door to every method it exports, and a method it does not export gets Next's empty 400
 * with nothing run (README "HTTP answers"). Skipping the middleware there saves Next's middleware
 * round trip on every MCP call under `next start` (its cost: docs/PERFORMANCE.md).
 */
export const config = {
  matcher: [
    '/((?!_next/static|_next/image|favicon.ico|mcp$).*)',
    { source: '/mcp', missing: [{ type: 'header', key: 'content-type', value: 'application/json(;.*)?' }] },
  ],
};
