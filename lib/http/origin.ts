/**
 * Origin checks for /mcp (MCP transport security: validate Origin on every request, 403 when a
 * present Origin is not allowed). Requests without Origin are server-side clients and pass.
 */
export type OriginDecision = { kind: 'no-origin' } | { kind: 'allowed'; origin: string } | { kind: 'forbidden' };

export function checkOrigin(origin: string | null, allowed: readonly string[]): OriginDecision {
  if (origin === null) return { kind: 'no-origin' };
  // "null" (sandboxed frames, file://) and anything not listed exactly is refused.
  return allowed.includes(origin) ? { kind: 'allowed', origin } : { kind: 'forbidden' };
}

export const MCP_CORS_HEADERS = {
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers':
    'authorization, content-type, accept, mcp-protocol-version, mcp-session-id, last-event-id',
  'access-control-expose-headers': 'www-authenticate, mcp-session-id, mcp-protocol-version',
  'access-control-max-age': '600',
} as const;

export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
} as const;
