import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis';
import type { RateLimit } from '../limits';
import { coalescing } from './coalesce';
import { STORE_TIMEOUT_MS, type SharedStore } from './store';

/**
 * Shared state in Upstash Redis over its REST protocol (fetch only: Edge-safe). Every instance
 * reads and writes the same keys, so a revocation or a count seen by one is seen by all.
 */

/**
 * The limiter's own timeout. Past it @upstash/ratelimit answers "let through" with reason
 * `timeout`, and each primitive's `whenStoreSlow` decides. Shorter than the library's default
 * 5 s: a call should not wait that long for its counter.
 */
export const LIMITER_TIMEOUT_MS = 1_000;

/**
 * Blocked identifiers remembered by this isolate until their window resets, so a caller hammering
 * a primitive is refused without a round trip. At module scope, as the library requires on the
 * Edge: one per isolate, shared by every request it serves.
 */
const ephemeralCache = new Map<string, number>();

export function createUpstashStore(url: string, token: string): SharedStore {
  const options = {
    url,
    token,
    enableTelemetry: false,
    // One quick retry on a network error, then the caller's fail-closed path.
    retry: { retries: 1, backoff: () => 50 },
  };
  // Plain strings back (no JSON parsing of stored values), and a bounded round trip.
  const redis = new Redis({
    ...options,
    automaticDeserialization: false,
    signal: () => AbortSignal.timeout(STORE_TIMEOUT_MS),
  });
  // The limiter's client: its Lua replies are numbers, and its own timeout applies (above). Its
  // commands issued together go out as one pipeline request, and `together` makes the calls that
  // arrive during a round trip issue theirs together (./coalesce.ts).
  const counting = new Redis({ ...options, enableAutoPipelining: true });
  const together = coalescing();
  const limiters = new Map<string, Ratelimit>();
  const limiterFor = (rule: RateLimit): Ratelimit => {
    const key = `${rule.requests}/${rule.window}`;
    let limiter = limiters.get(key);
    if (!limiter) {
      limiter = new Ratelimit({
        redis: counting,
        limiter: Ratelimit.slidingWindow(rule.requests, rule.window),
        prefix: `mcp:rl:${key}`,
        ephemeralCache,
        timeout: LIMITER_TIMEOUT_MS,
        analytics: false,
      });
      limiters.set(key, limiter);
    }
    return limiter;
  };

  return {
    kind: 'upstash',
    async read(keys) {
      if (keys.length === 0) return [];
      const values = await redis.mget<(string | null)[]>(...keys);
      if (!Array.isArray(values) || values.length !== keys.length) throw new Error('unexpected MGET answer');
      return values.map((value) => (typeof value === 'string' ? value : null));
    },
    async write(entries) {
      if (entries.length === 0) return;
      const pipeline = redis.pipeline();
      for (const { key, value, ttlSeconds } of entries) pipeline.set(key, value, { ex: ttlSeconds });
      await pipeline.exec();
    },
    async claim(key, ttlSeconds) {
      return (await redis.set(key, '1', { nx: true, ex: ttlSeconds })) === 'OK';
    },
    async release(key) {
      await redis.del(key);
    },
    async limit(identifier, rule) {
      const limiter = limiterFor(rule);
      const answer = await together(() => limiter.limit(identifier));
      return {
        success: answer.success,
        limit: answer.limit,
        remaining: answer.remaining,
        reset: answer.reset,
        timedOut: answer.reason === 'timeout',
        pending: answer.pending,
      };
    },
  };
}
