import { z } from 'zod';
import { ConfigError, parseSecureUrl } from '../config';

/**
 * Where the state every instance must share lives (the deny list, rate-limit counters, the ids of
 * webhook events already applied): Upstash Redis, named by either pair of variables the Vercel
 * Marketplace integration may set. Pure, table-tested.
 *
 *   UPSTASH_REDIS_REST_URL + _TOKEN, or KV_REST_API_URL + _TOKEN -> Upstash Redis
 *   else, outside production                                  -> this process's memory (one process only)
 *   else                                                      -> none: revocation and rate limits are off, said once in the log
 */

const optional = z
  .string()
  .optional()
  .transform((v) => v?.trim() || undefined);

const EnvSchema = z.object({
  UPSTASH_REDIS_REST_URL: optional,
  UPSTASH_REDIS_REST_TOKEN: optional,
  KV_REST_API_URL: optional,
  KV_REST_API_TOKEN: optional,
});
type SharedEnv = z.infer<typeof EnvSchema>;

/** An Upstash database as the environment names it, and which variable named it. */
export type UpstashPair = { url: string; token: string; from: 'UPSTASH_REDIS_REST_URL' | 'KV_REST_API_URL' };

export type SharedBackend = ({ kind: 'upstash' } & UpstashPair) | { kind: 'memory' } | { kind: 'none' };

function pair(
  env: SharedEnv,
  urlVar: 'UPSTASH_REDIS_REST_URL' | 'KV_REST_API_URL',
  tokenVar: 'UPSTASH_REDIS_REST_TOKEN' | 'KV_REST_API_TOKEN',
): UpstashPair | undefined {
  const url = env[urlVar];
  const token = env[tokenVar];
  if (!url && !token) return undefined;
  if (!url) throw new ConfigError(urlVar, `must be set together with ${tokenVar}, e.g. https://your-db.upstash.io`);
  if (!token) throw new ConfigError(tokenVar, `must be set together with ${urlVar} (the REST token of the database)`);
  const base = parseSecureUrl(urlVar, url, 'https://your-db.upstash.io').toString().replace(/\/$/, '');
  return { url: base, token, from: urlVar };
}

/**
 * The Upstash database the environment names (the shared state here, the notes example's store
 * too), or undefined when neither pair is set. Throws ConfigError for half a pair or a bad URL.
 */
export function upstashPairFrom(rawEnv: Record<string, string | undefined>): UpstashPair | undefined {
  const env = EnvSchema.parse(rawEnv);
  return (
    pair(env, 'UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN') ?? pair(env, 'KV_REST_API_URL', 'KV_REST_API_TOKEN')
  );
}

/** Which backend the environment selects. Throws ConfigError (one line naming the variable). */
export function resolveSharedBackend(rawEnv: Record<string, string | undefined>): SharedBackend {
  const upstash = upstashPairFrom(rawEnv);
  if (upstash) return { kind: 'upstash', ...upstash };
  const vercelEnv = rawEnv.VERCEL_ENV?.trim();
  const production = rawEnv.NODE_ENV?.trim() === 'production' || vercelEnv === 'production' || vercelEnv === 'preview';
  return production ? { kind: 'none' } : { kind: 'memory' };
}
