import { z } from 'zod';
import { tokenCacheParts } from '../auth/token-cache';
import { evictOldest } from '../util/bounded-map';

/**
 * RFC 7662 token introspection for primitives that need a live token: WorkOS sends no event when a
 * user removes a Connect authorization, so only the issuer can say the consent behind a token is
 * gone. An answer is reused by this isolate for `cacheMs` at most (filed under the SHA-256 of the
 * token's signature, never the token); anything but a well-formed 200 is `unavailable`, and the
 * caller fails closed.
 */
export type Liveness = 'active' | 'inactive' | 'unavailable';
export type Introspector = (token: string) => Promise<Liveness>;

const TIMEOUT_MS = 3_000;
const MAX_CACHED = 10_000;
const AnswerSchema = z.looseObject({ active: z.boolean() });

export function createIntrospector(
  { url, clientId, clientSecret, cacheMs }: { url: string; clientId: string; clientSecret: string; cacheMs: number },
  { fetch: fetchImpl = fetch, now = Date.now }: { fetch?: typeof fetch; now?: () => number } = {},
): Introspector {
  const cache = new Map<string, { signingInput: string; answer: 'active' | 'inactive'; until: number }>();
  // RFC 6749 §2.3.1: form-urlencode each part before Basic encoding.
  const basic = `Basic ${btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`)}`;
  return async (token) => {
    const parts = tokenCacheParts(token);
    const hit = parts && cache.get(parts.key);
    if (parts && hit && hit.signingInput === parts.signingInput && hit.until > now()) return hit.answer;
    let answer: 'active' | 'inactive';
    try {
      const response = await fetchImpl(url, {
        method: 'POST',
        headers: {
          authorization: basic,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.timeout(TIMEOUT_MS),
        redirect: 'error',
      });
      if (response.status !== 200) return 'unavailable';
      const parsed = AnswerSchema.safeParse(await response.json());
      if (!parsed.success) return 'unavailable';
      answer = parsed.data.active ? 'active' : 'inactive';
    } catch {
      return 'unavailable';
    }
    if (parts && cacheMs > 0) {
      cache.delete(parts.key);
      cache.set(parts.key, { signingInput: parts.signingInput, answer, until: now() + cacheMs });
      evictOldest(cache, MAX_CACHED);
    }
    return answer;
  };
}
