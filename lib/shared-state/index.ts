import { ConfigError } from '../config';
import { resolveSharedBackend } from './backend';
import { processMemoryStore } from './memory';
import { unreachableStore, type SharedStore } from './store';
import { createUpstashStore } from './upstash';

export type { DenyWrite, LimitAnswer, SharedStore } from './store';
export { STORE_TIMEOUT_MS } from './store';
export { resolveSharedBackend, type SharedBackend } from './backend';

/**
 * The shared store for this isolate's environment, built once (again only if its variables
 * change): Upstash, development memory, or undefined (production without a store: revocation and
 * rate limits off, logged once). A misconfigured pair gives a store that never answers, so private
 * calls fail closed, and one log line names the variable.
 */
let cached: { fingerprint: string; store: SharedStore | undefined } | undefined;

const VARIABLES = [
  'NODE_ENV',
  'VERCEL_ENV',
  'UPSTASH_REDIS_REST_URL',
  'UPSTASH_REDIS_REST_TOKEN',
  'KV_REST_API_URL',
  'KV_REST_API_TOKEN',
];

export function sharedStore(env: Record<string, string | undefined> = process.env): SharedStore | undefined {
  const fingerprint = JSON.stringify(VARIABLES.map((name) => env[name] ?? null));
  if (cached?.fingerprint === fingerprint) return cached.store;
  let store: SharedStore | undefined;
  try {
    const backend = resolveSharedBackend(env);
    if (backend.kind === 'upstash') store = createUpstashStore(backend.url, backend.token);
    else if (backend.kind === 'memory') store = processMemoryStore();
    else
      console.warn(
        '[shared-state] no shared store (UPSTASH_REDIS_REST_URL / KV_REST_API_URL): the deny list and rate limits are off',
      );
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`[shared-state] ${error.message}`);
    store = unreachableStore();
  }
  cached = { fingerprint, store };
  return store;
}
