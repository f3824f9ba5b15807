import type { Refusal } from '../http/answers';
import type { Envelope } from './envelope';

/**
 * Methods this server refuses before dispatch, with a clear JSON-RPC error.
 *
 * `subscriptions/listen` (2026-07-28): on Edge every request may land on a different isolate and
 * isolates share no event bus, so a listen stream could never deliver a change notification; it
 * would only hold a connection open (and count against the SDK's per-handler stream limit). No
 * capability advertises `listChanged`, so well-behaved clients never ask; clients that do get
 * this answer at once, and re-list instead (list results carry `ttlMs`).
 */

export const METHOD_NOT_FOUND = -32601;

export type Unserved = Refusal & { code: typeof METHOD_NOT_FOUND; reason: 'subscriptions_unsupported' };

const UNSERVED: Readonly<Record<string, string>> = {
  'subscriptions/listen':
    'subscriptions/listen is not offered: this server runs statelessly on Edge and delivers no change notifications; list again when a cached list expires',
};

/** The refusal for a single request naming an unserved method, or undefined. */
export function unservedMethod(envelope: Envelope, era: 'modern' | 'legacy' | 'other'): Unserved | undefined {
  const { method } = envelope;
  if (envelope.batch || method === undefined || !Object.hasOwn(UNSERVED, method)) return undefined;
  // The SDK answers an unknown method 404 on the 2026 wire and in-band (200) on the 2025 wire;
  // this refusal answers the same way, so clients handle it as they handle any missing method.
  return {
    status: era === 'modern' ? 404 : 200,
    code: METHOD_NOT_FOUND,
    message: UNSERVED[method] ?? '',
    reason: 'subscriptions_unsupported',
  };
}
