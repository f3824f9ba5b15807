import { windowMs, type RateLimit } from '../limits';
import { evictOldest } from '../util/bounded-map';
import type { SharedStore } from './store';

/**
 * Shared state for `npm run dev` without Redis: this process's memory, so it holds for one process
 * only and never serves production, where every request may land on another isolate. Fixed
 * windows, bounded size.
 */
const MAX_ENTRIES = 10_000;

export function createMemoryStore(now: () => number = Date.now): SharedStore {
  const values = new Map<string, { value: string; until: number }>();
  const counters = new Map<string, { count: number; until: number }>();
  const live = (key: string) => {
    const entry = values.get(key);
    if (entry && entry.until <= now()) values.delete(key);
    return entry && entry.until > now() ? entry : undefined;
  };
  const set = (key: string, value: string, ttlSeconds: number) => {
    values.delete(key);
    values.set(key, { value, until: now() + ttlSeconds * 1000 });
    evictOldest(values, MAX_ENTRIES);
  };
  return {
    kind: 'memory',
    read: async (keys) => keys.map((key) => live(key)?.value ?? null),
    write: async (entries) => {
      for (const { key, value, ttlSeconds } of entries) set(key, value, ttlSeconds);
    },
    claim: async (key, ttlSeconds) => {
      if (live(key)) return false;
      set(key, '1', ttlSeconds);
      return true;
    },
    release: async (key) => {
      values.delete(key);
    },
    limit: async (identifier: string, rule: RateLimit) => {
      const span = windowMs(rule.window);
      const start = Math.floor(now() / span) * span;
      const key = `${identifier}@${start}`;
      const counter = counters.get(key) ?? { count: 0, until: start + span };
      counter.count++;
      counters.delete(key);
      counters.set(key, counter);
      evictOldest(counters, MAX_ENTRIES);
      return {
        success: counter.count <= rule.requests,
        limit: rule.requests,
        remaining: Math.max(0, rule.requests - counter.count),
        reset: counter.until,
        timedOut: false,
        pending: Promise.resolve(),
      };
    },
  };
}

// Next.js runs each Edge route in a sandbox of its own, so module state is per route, and the
// webhook route's writes would never reach /mcp. The host's `performance` object is the one
// object every sandbox of the process is handed, so the development store hangs there: one per
// process. Development only: production never uses memory (lib/shared-state/backend.ts).
const PROCESS_STORE = Symbol.for('edge-mcp-authkit.development-shared-state');

export function processMemoryStore(): SharedStore {
  const host = globalThis.performance as unknown as Record<symbol, SharedStore | undefined>;
  let store = host[PROCESS_STORE];
  if (!store) {
    store = createMemoryStore();
    host[PROCESS_STORE] = store;
  }
  return store;
}
