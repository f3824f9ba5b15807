import type { UserPrincipal } from '../auth/principal';
import type { SharedStore } from '../shared-state';
import { evictOldest } from '../util/bounded-map';
import { coveringEntry, entriesFor, type DenyKind } from './deny-list';

/**
 * Consulting the deny list for every authenticated request. One round trip (MGET of the entries
 * that could cover the token); its answer is reused by this isolate for at most `freshnessMs`, so
 * an entry written by any instance stops a token everywhere within that time plus one round trip.
 */
export type RevocationAnswer = { kind: 'live' } | { kind: 'revoked'; entry: DenyKind } | { kind: 'unavailable' };

export type RevocationCheck = (principal: UserPrincipal) => Promise<RevocationAnswer>;

const MAX_CACHED = 10_000;
const LIVE: RevocationAnswer = Object.freeze({ kind: 'live' });
const UNAVAILABLE: RevocationAnswer = Object.freeze({ kind: 'unavailable' });

export function createRevocationCheck(
  store: SharedStore,
  { freshnessMs, now = Date.now }: { freshnessMs: number; now?: () => number },
): RevocationCheck {
  const cache = new Map<string, { values: (string | null)[]; until: number }>();
  return async (principal) => {
    const entries = entriesFor(principal);
    const cacheKey = entries.map((e) => e.key).join('\n');
    let values = cache.get(cacheKey);
    if (!values || values.until <= now()) {
      try {
        values = { values: await store.read(entries.map((e) => e.key)), until: now() + freshnessMs };
      } catch {
        // Not cached: the next request tries the store again.
        return UNAVAILABLE;
      }
      if (freshnessMs > 0) {
        cache.delete(cacheKey);
        cache.set(cacheKey, values);
        evictOldest(cache, MAX_CACHED);
      }
    }
    const entry = coveringEntry(principal, entries, values.values);
    return entry ? { kind: 'revoked', entry } : LIVE;
  };
}
