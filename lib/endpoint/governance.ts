import { challengeRefusal } from '../auth/challenge';
import { readCredentials } from '../auth/authorization-header';
import type { Principal } from '../auth/principal';
import type { Config } from '../config';
import { RPC_ERRORS, type Refusal } from '../http/answers';
import { failsOpen } from '../limits';
import { rateLimitKey, retryAfterSeconds } from '../rate-limit/key';
import { createRevocationCheck, type RevocationCheck } from '../revocation/check';
import { loadRevocationConfig, type RevocationConfig } from '../revocation/config';
import { createIntrospector, type Introspector } from '../revocation/introspection';
import { sharedStore, type SharedStore } from '../shared-state';
import type { GatedCall } from './gate';

/**
 * Taking access back and limiting it, between the gate and dispatch: the deny list every
 * authenticated request consults (all instances share it), the live-token check of primitives
 * that declare `liveToken`, and per-caller rate limits. Each refuses before any handler runs and
 * before the SDK validates arguments; each store outage fails closed for private primitives.
 */
export type Governance = {
  config: RevocationConfig;
  store: SharedStore | undefined;
  revocation: RevocationCheck | undefined;
  introspect: Introspector | undefined;
};

export type GovernanceOptions = {
  /** Tests inject a store; defaults to the one the environment selects (lib/shared-state). */
  store?: (config: Config) => SharedStore | undefined;
  /** Tests inject the environment revocation reads; defaults to process.env. */
  env?: () => Record<string, string | undefined>;
};

export function createGovernance(config: Config, options: GovernanceOptions = {}): Governance {
  const env = options.env?.() ?? process.env;
  const revocation = loadRevocationConfig(env, config);
  const store = options.store
    ? options.store(config)
    : sharedStore({ ...env, NODE_ENV: config.production ? 'production' : env.NODE_ENV });
  return {
    config: revocation,
    store,
    revocation: store && createRevocationCheck(store, { freshnessMs: revocation.freshnessMs }),
    introspect: revocation.introspection && createIntrospector(revocation.introspection),
  };
}

const unavailable = (reason: string, message: string, retryAfter = 5): Refusal => ({
  status: 503,
  code: RPC_ERRORS.unavailable,
  message,
  reason,
  publicReason: 'unavailable',
  headers: { 'retry-after': String(retryAfter) },
});

const REVOCATION_UNAVAILABLE = unavailable(
  'revocation_unavailable',
  'Access cannot be checked right now; nothing was executed',
);
const INTROSPECTION_UNAVAILABLE = unavailable(
  'introspection_unavailable',
  'The token cannot be checked with its issuer right now; nothing was executed',
);
const RATE_LIMIT_UNAVAILABLE = unavailable(
  'rate_limit_unavailable',
  'The rate limit cannot be checked right now; nothing was executed',
);

function revoked(config: Config, reason: string, description: string): Refusal {
  return {
    ...challengeRefusal({ kind: 'invalid_token', description }, config.resourceMetadataUrl),
    reason,
    publicReason: 'invalid_token',
  };
}

/** What the deny list said of this caller: a refusal (revoked), unavailable (decided per call later), or nothing. */
export async function denyListStage(
  governance: Governance,
  principal: Principal,
  config: Config,
): Promise<{ refusal?: Refusal; unavailable: boolean }> {
  if (principal.kind !== 'user' || !governance.revocation) return { unavailable: false };
  const answer = await governance.revocation(principal);
  if (answer.kind === 'revoked')
    return {
      refusal: revoked(config, `token_revoked_${answer.entry}`, 'The access token has been revoked'),
      unavailable: false,
    };
  return { unavailable: answer.kind === 'unavailable' };
}

type CallContext = {
  governance: Governance;
  config: Config;
  request: Request;
  principal: Principal;
  calls: readonly GatedCall[];
  denyListUnavailable: boolean;
  waitUntil?: (task: Promise<unknown>) => void;
  now?: () => number;
};

const isPublic = (call: GatedCall) => call.primitive.definition.access === 'public';

/**
 * The calls the gate allowed, in order: a deny list out of reach stops private ones (503), rate
 * limits count each (429, or per policy when the counter's store is slow or down), and a live
 * token is introspected once for the request (401 inactive, 503 unreachable).
 */
export async function callsStage(context: CallContext): Promise<Refusal | undefined> {
  const { governance, config, request, principal } = context;
  const allowed = context.calls.filter((call) => call.decision.effect === 'allow');
  if (context.denyListUnavailable && allowed.some((call) => !isPublic(call))) return REVOCATION_UNAVAILABLE;

  const store = governance.store;
  const now = context.now ?? Date.now;
  if (store) {
    for (const call of allowed) {
      const rate = call.primitive.definition.rate;
      if (!rate) continue;
      const key = rateLimitKey(
        config.issuer,
        principal,
        { kind: call.primitive.kind, name: call.primitive.definition.name },
        request.headers,
      );
      let answer: Awaited<ReturnType<SharedStore['limit']>> | undefined;
      try {
        answer = await store.limit(key, rate);
        context.waitUntil?.(answer.pending);
      } catch {
        answer = undefined; // the store is down: as slow as it gets
      }
      if (!answer || answer.timedOut) {
        if (failsOpen(rate, isPublic(call))) continue;
        return RATE_LIMIT_UNAVAILABLE;
      }
      if (!answer.success) {
        return {
          status: 429,
          code: RPC_ERRORS.rateLimited,
          message: `Rate limit reached: ${rate.requests} calls per ${rate.window}; try again later`,
          reason: 'rate_limited',
          headers: { 'retry-after': String(retryAfterSeconds(answer.reset, now())) },
        };
      }
    }
  }

  if (principal.kind === 'user' && allowed.some((call) => call.primitive.definition.liveToken)) {
    const credentials = readCredentials(request.headers, request.url);
    // No introspection credentials: such primitives cannot run here; the record says why.
    if (!governance.introspect) return { ...INTROSPECTION_UNAVAILABLE, reason: 'introspection_not_configured' };
    if (credentials.kind !== 'bearer') return INTROSPECTION_UNAVAILABLE;
    const liveness = await governance.introspect(credentials.token);
    if (liveness === 'unavailable') return INTROSPECTION_UNAVAILABLE;
    if (liveness === 'inactive')
      return revoked(config, 'token_inactive', 'The access token is no longer active at its issuer');
  }
  return undefined;
}
