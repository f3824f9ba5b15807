import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { UserPrincipal } from './principal';

/**
 * Verified tokens, remembered per isolate so a client's repeated calls skip the RS256 check.
 * Keyed by the SHA-256 of the token (the token itself is never stored), bounded in size, and an
 * entry never outlives the token's own `exp`. Only successful verifications are ever stored.
 *
 * The hash is synchronous on purpose: `crypto.subtle.digest` is a thread-pool round trip that cost
 * more under load than the RS256 check it saves (docs/PERFORMANCE.md).
 */
export type TokenCacheKey = string & { readonly __brand: 'TokenCacheKey' };

export type TokenCache = {
  /** Computed once per request and passed to `get` and `set`. */
  keyOf(token: string): TokenCacheKey;
  get(key: TokenCacheKey): UserPrincipal | undefined;
  set(key: TokenCacheKey, principal: UserPrincipal): void;
  size(): number;
};

export const DEFAULT_TOKEN_CACHE_ENTRIES = 10_000;
/** Upper bound on how long a verification is trusted without re-checking, even for long-lived tokens. */
export const MAX_TOKEN_CACHE_MS = 5 * 60_000;

const encoder = new TextEncoder();

export function tokenCacheKey(token: string): TokenCacheKey {
  return bytesToHex(sha256(encoder.encode(token))) as TokenCacheKey;
}

export function createTokenCache(options: { maxEntries?: number; now?: () => number } = {}): TokenCache {
  const maxEntries = options.maxEntries ?? DEFAULT_TOKEN_CACHE_ENTRIES;
  const now = options.now ?? Date.now;
  const entries = new Map<TokenCacheKey, { principal: UserPrincipal; until: number }>();

  return {
    keyOf: tokenCacheKey,
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.until <= now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.principal;
    },
    set(key, principal) {
      const until = Math.min(principal.expiresAt * 1000, now() + MAX_TOKEN_CACHE_MS);
      if (until <= now()) return;
      entries.delete(key);
      entries.set(key, { principal: Object.freeze({ ...principal }), until });
      // Map keeps insertion order: the first key is the oldest entry.
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as TokenCacheKey);
    },
    size: () => entries.size,
  };
}
