import { perConfig, type Config } from '../config';
import { RPC_ERRORS, type Refusal } from '../http/answers';
import { challengeRefusal, type Challenge } from './challenge';
import { readCredentials } from './authorization-header';
import { ANONYMOUS, type Principal } from './principal';
import { createTokenCache } from './token-cache';
import { createTokenVerifier, type TokenVerifier } from './verify';

/** What authentication concluded for one request, before any policy is looked at. */
export type Authentication = { ok: true; principal: Principal } | { ok: false; refusal: Refusal };

/**
 * Identity could not be checked (the issuer's keys, or the directory a policy needs, are out of
 * reach): nothing ran, try again shortly. `reason` is what the audit records; the caller reads `unavailable`.
 */
export function identityUnavailable(reason: string): Refusal {
  return {
    status: 503,
    code: RPC_ERRORS.unavailable,
    message: 'Identity verification is temporarily unavailable; nothing was executed',
    reason,
    publicReason: 'unavailable',
    headers: { 'retry-after': '10' },
  };
}

/** One verifier (and so one JWKS cache) per isolate and configuration. */
export const verifierFor: (config: Config) => TokenVerifier = perConfig(
  (config) => [
    config.issuer,
    config.jwksUrl,
    config.audiences,
    config.extraAudiences,
    config.algorithms,
    config.maxTokenLifetimeSeconds,
    config.environmentClientId,
    config.revocationFreshnessMs,
  ],
  (config) =>
    createTokenVerifier({
      ...config,
      // A key removed from the issuer's set, and a token verified with it, stop verifying as fast as a revocation.
      keySetMaxAgeMs: config.revocationFreshnessMs,
      cache: createTokenCache({ maxAgeMs: config.revocationFreshnessMs }),
    }),
);

export async function authenticate(
  request: Request,
  config: Config,
  verify: TokenVerifier = verifierFor(config),
): Promise<Authentication> {
  const challenge = (c: Challenge): Authentication => ({
    ok: false,
    refusal: challengeRefusal(c, config.resourceMetadataUrl),
  });
  const credentials = readCredentials(request.headers, request.url);
  switch (credentials.kind) {
    case 'malformed':
      return challenge({ kind: 'invalid_request', description: credentials.description });
    case 'none':
      return config.authRequired
        ? challenge({ kind: 'authentication_required', scopes: [] })
        : { ok: true, principal: ANONYMOUS };
    case 'bearer': {
      const result = await verify(credentials.token);
      if (result.ok) return { ok: true, principal: result.principal };
      if (result.kind === 'unavailable') return { ok: false, refusal: identityUnavailable('jwks_unavailable') };
      // An invalid token is refused on every request, public tools included: never downgraded.
      const refused = challenge({ kind: 'invalid_token', description: result.description });
      if (refused.ok || result.reason === undefined) return refused;
      return { ok: false, refusal: { ...refused.refusal, reason: result.reason, publicReason: 'invalid_token' } };
    }
  }
}
