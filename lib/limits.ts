import { z } from 'zod';

/**
 * What a primitive declares beside its access policy about how it may be used: a rate limit per
 * caller (requests per window, counted on every instance at once) and whether each call needs a
 * token that is still live at the issuer (introspected, never older than a few seconds). Read by
 * the registry's checks, the endpoint's stages, the inventory and the landing page.
 */

/** `10 s`, `1 m`, `500 ms`: the window notation of @upstash/ratelimit. */
export type Window = `${number} ${'ms' | 's' | 'm' | 'h' | 'd'}`;
const WINDOW = /^([1-9]\d{0,6}) (ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export const RateLimitSchema = z.strictObject({
  /** Calls allowed per caller and primitive within `window`. */
  requests: z.number().int().min(1).max(1_000_000),
  window: z.custom<Window>((v) => typeof v === 'string' && WINDOW.test(v), 'window must look like "10 s" or "1 m"'),
  /**
   * When the counter's store does not answer in time (the limiter's timeout): `closed` refuses the
   * call with 503, `open` lets it through uncounted. Default: `closed` unless the primitive is public.
   */
  whenStoreSlow: z.enum(['open', 'closed']).optional(),
});
export type RateLimit = z.infer<typeof RateLimitSchema>;

/** The fields a tool, resource or prompt may declare beside `access`. */
export type Governed = {
  /** Per caller and primitive, on every instance at once (Upstash Redis). */
  rate?: RateLimit;
  /**
   * Each call first asks the issuer whether the token is still active (RFC 7662 introspection,
   * cached a few seconds at most, failing closed): for what must never outlive a consent.
   */
  liveToken?: boolean;
};

export function windowMs(window: Window): number {
  const match = WINDOW.exec(window);
  if (!match) throw new Error(`invalid window ${JSON.stringify(window)}`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** Whether a slow store lets the call through: the declared choice, else open only for public primitives. */
export function failsOpen(rate: RateLimit, isPublic: boolean): boolean {
  return (rate.whenStoreSlow ?? (isPublic ? 'open' : 'closed')) === 'open';
}

/** One line for the inventory and the landing page: `30 per 1 m (slow store: refuse)`. */
export function describeRate(rate: RateLimit | undefined, isPublic: boolean): string {
  if (!rate) return 'none';
  return `${rate.requests} per ${rate.window} (slow store: ${failsOpen(rate, isPublic) ? 'allow' : 'refuse'})`;
}
