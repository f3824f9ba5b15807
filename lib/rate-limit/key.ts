import type { Principal } from '../auth/principal';

/**
 * Whose counter a call counts against, pure. A signed-in caller: issuer, subject, OAuth client
 * and primitive, so one client of a person cannot use up another's. An anonymous caller (public
 * primitives only): the client address the platform reports in `x-real-ip` (Vercel sets it and
 * overwrites what a client sends; self-hosted, the proxy in front must), else one shared counter
 * for every anonymous caller of that primitive: a flood then slows anonymous use, never signed-in use.
 */
export function rateLimitKey(
  issuer: string,
  principal: Principal,
  primitive: { kind: string; name: string },
  headers: Headers,
): string {
  const target = `${primitive.kind}:${primitive.name}`;
  if (principal.kind === 'user') {
    return ['u', issuer, principal.subject, principal.clientId ?? '-', target].map(encodeURIComponent).join('|');
  }
  const address = (headers.get('x-real-ip') ?? '').trim();
  const valid = /^[0-9A-Fa-f:.]{2,45}$/.test(address) ? address : 'anonymous';
  return ['a', valid, target].map(encodeURIComponent).join('|');
}

/** Seconds until the window frees a call, for Retry-After: at least 1. */
export function retryAfterSeconds(reset: number, now: number): number {
  return Math.max(1, Math.ceil((reset - now) / 1000));
}
