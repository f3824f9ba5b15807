import type { UserPrincipal } from './principal';

/**
 * Verified tokens, remembered per isolate so a client's repeated calls skip the RS256 check.
 * Keyed by the SHA-256 of the token (the token itself is never stored), bounded in size, and an
 * entry never outlives the token's own `exp`. Only successful verifications are ever stored.
 */
export type TokenCache = {
  get(token: string): Promise<UserPrincipal | undefined>;
  set(token: string, principal: UserPrincipal): Promise<void>;
  size(): number;
};

export const DEFAULT_TOKEN_CACHE_ENTRIES = 10_000;
/** Upper bound on how long a verification is trusted without re-checking, even for long-lived tokens. */
export const MAX_TOKEN_CACHE_MS = 5 * 60_000;

async function keyOf(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)));
  let hex = '';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

export function createTokenCache(options: { maxEntries?: number; now?: () => number } = {}): TokenCache {
  const maxEntries = options.maxEntries ?? DEFAULT_TOKEN_CACHE_ENTRIES;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { principal: UserPrincipal; until: number }>();

  return {
    async get(token) {
      const key = await keyOf(token);
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.until <= now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.principal;
    },
    async set(token, principal) {
      const until = Math.min(principal.expiresAt * 1000, now() + MAX_TOKEN_CACHE_MS);
      if (until <= now()) return;
      const key = await keyOf(token);
      entries.delete(key);
      entries.set(key, { principal: Object.freeze({ ...principal }), until });
      // Map keeps insertion order: the first key is the oldest entry.
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    },
    size: () => entries.size,
  };
}
