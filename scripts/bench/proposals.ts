import type { UserPrincipal } from '@/lib/auth/principal';
import { MAX_TOKEN_CACHE_MS, type TokenCache } from '@/lib/auth/token-cache';
import { createTokenVerifier, type TokenVerifier } from '@/lib/auth/verify';
import type { Config } from '@/lib/config';
import { sha256Hex } from './sha256';

/**
 * The proposed lib/ change, prototyped here so it can be measured through the public
 * `verifier` option of createMcpEndpoint without editing lib/: the verified-token cache keyed by a
 * synchronous SHA-256 of the token instead of `await crypto.subtle.digest(...)`.
 */

/** lib/auth/token-cache.ts with a synchronous key function instead of crypto.subtle.digest. */
export function syncKeyedTokenCache(keyOf: (token: string) => string, maxEntries = 10_000): TokenCache {
  const entries = new Map<string, { principal: UserPrincipal; until: number }>();
  return {
    async get(token) {
      const key = keyOf(token);
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.until <= Date.now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.principal;
    },
    async set(token, principal) {
      const until = Math.min(principal.expiresAt * 1000, Date.now() + MAX_TOKEN_CACHE_MS);
      if (until <= Date.now()) return;
      const key = keyOf(token);
      entries.delete(key);
      entries.set(key, { principal: Object.freeze({ ...principal }), until });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    },
    size: () => entries.size,
  };
}

/** createTokenVerifier with the synchronous-key cache: pass as `verifier` to createMcpEndpoint. */
export function syncCacheVerifier(): (config: Config) => TokenVerifier {
  let made: { config: Config; verify: TokenVerifier } | undefined;
  return (config) => {
    if (made?.config !== config) made = { config, verify: createTokenVerifier({ ...config, cache: syncKeyedTokenCache(sha256Hex) }) };
    return made.verify;
  };
}
