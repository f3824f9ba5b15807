import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { UserPrincipal } from './principal';
import { evictOldest } from '../util/bounded-map';

/**
 * Verified tokens, remembered per isolate so a client's repeated calls skip the RS256 check.
 * Bounded in size, an entry never outlives the token's own `exp`, and only successful
 * verifications are ever stored.
 *
 * The token itself is never stored. An entry is found by the SHA-256 of the token's signature and
 * holds the signing input (`header.payload`, the claims the principal already carries). A hit needs
 * both: the same signing input and a signature with the same SHA-256, i.e. the same token string.
 * What is kept cannot be presented as a credential without the signature, and hashing the
 * signature alone costs less than half of hashing the whole token (docs/PERFORMANCE.md).
 *
 * The hash is synchronous on purpose: `crypto.subtle.digest` is a thread-pool round trip that cost
 * more under load than the RS256 check it saves.
 */
export type TokenCache = {
  /** The principal of a token verified before, or undefined. */
  get(token: string): UserPrincipal | undefined;
  /** Stores a principal for a token that has just passed full verification. */
  set(token: string, principal: UserPrincipal): void;
  size(): number;
};

const DEFAULT_TOKEN_CACHE_ENTRIES = 10_000;
/** Upper bound on how long a verification is trusted without re-checking, even for long-lived tokens. */
const MAX_TOKEN_CACHE_MS = 5 * 60_000;

const encoder = new TextEncoder();

type Entry = { signingInput: string; principal: UserPrincipal; until: number };

/** What an entry is filed under and what it holds: the hex SHA-256 of the signature and `header.payload`. */
export function tokenCacheParts(token: string): { key: string; signingInput: string } | undefined {
  const dot = token.lastIndexOf('.');
  if (dot < 0) return undefined; // no signature: never cached
  return { key: bytesToHex(sha256(encoder.encode(token.slice(dot + 1)))), signingInput: token.slice(0, dot) };
}

export function createTokenCache(
  options: { maxEntries?: number; now?: () => number; maxAgeMs?: number } = {},
): TokenCache {
  const maxEntries = options.maxEntries ?? DEFAULT_TOKEN_CACHE_ENTRIES;
  // Never longer than the default bound; shorter when revocation freshness asks (a removed key stops verifying).
  const maxAge = Math.min(options.maxAgeMs ?? MAX_TOKEN_CACHE_MS, MAX_TOKEN_CACHE_MS);
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();

  return {
    get(token) {
      const parts = tokenCacheParts(token);
      const entry = parts && entries.get(parts.key);
      if (!parts || !entry || entry.signingInput !== parts.signingInput) return undefined;
      if (entry.until <= now()) {
        entries.delete(parts.key);
        return undefined;
      }
      return entry.principal;
    },
    set(token, principal) {
      const parts = tokenCacheParts(token);
      const until = Math.min(principal.expiresAt * 1000, now() + maxAge);
      if (!parts || until <= now()) return;
      entries.delete(parts.key);
      entries.set(parts.key, { signingInput: parts.signingInput, principal, until });
      evictOldest(entries, maxEntries);
    },
    size: () => entries.size,
  };
}
