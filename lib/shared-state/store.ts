import type { RateLimit } from '../limits';

/**
 * The narrow view of shared state the server needs. Every method throws when the store cannot be
 * reached in time; callers decide what that means (private calls fail closed).
 */
export type LimitAnswer = {
  success: boolean;
  limit: number;
  remaining: number;
  /** Epoch milliseconds when the window lets the caller in again. */
  reset: number;
  /** The store did not answer within the limiter's timeout: `success` is then the library's "let through". */
  timedOut: boolean;
  /** Work the limiter left running (analytics, multi-region sync): hand it to waitUntil. */
  pending: Promise<unknown>;
};

export type DenyWrite = { key: string; value: string; ttlSeconds: number };

export type SharedStore = {
  readonly kind: 'upstash' | 'memory';
  /** The values of these keys, null where absent, in order (one round trip). */
  read(keys: readonly string[]): Promise<(string | null)[]>;
  /** Sets every key with its expiry (one round trip). */
  write(entries: readonly DenyWrite[]): Promise<void>;
  /** Sets `key` only when absent, with an expiry: true when this call set it (once-only work). */
  claim(key: string, ttlSeconds: number): Promise<boolean>;
  /** Removes `key` (a claim whose work failed, so a retry can do it). */
  release(key: string): Promise<void>;
  /** Counts one call of `identifier` against `rule`. */
  limit(identifier: string, rule: RateLimit): Promise<LimitAnswer>;
};

/** Upper bound for one store round trip on the request path: past it the store counts as unreachable. */
export const STORE_TIMEOUT_MS = 2_000;

/** A store that cannot be reached (misconfigured): every call fails, so what depends on it fails closed. */
export function unreachableStore(): SharedStore {
  const fail = () => Promise.reject(new Error('shared store misconfigured'));
  return { kind: 'upstash', read: fail, write: fail, claim: fail, release: fail, limit: fail };
}
