import { perConfig, type Config } from '../config';
import type { Challenge } from './challenge';
import { readCredentials } from './authorization-header';
import { ANONYMOUS, type Principal } from './principal';
import { createTokenVerifier, type TokenVerifier } from './verify';

/** What authentication concluded for one request, before any policy is looked at. */
export type Authentication =
  | { ok: true; principal: Principal }
  | { ok: false; kind: 'challenge'; challenge: Challenge }
  | { ok: false; kind: 'unavailable' };

/** One verifier (and so one JWKS cache) per isolate and configuration. */
export const verifierFor: (config: Config) => TokenVerifier = perConfig(
  (config) => [
    config.issuer,
    config.jwksUrl,
    config.audiences,
    config.extraAudiences,
    config.algorithms,
    config.maxTokenLifetimeSeconds,
  ],
  (config) => createTokenVerifier(config),
);

export async function authenticate(
  request: Request,
  config: Config,
  verify: TokenVerifier = verifierFor(config),
): Promise<Authentication> {
  const credentials = readCredentials(request.headers, request.url);
  switch (credentials.kind) {
    case 'malformed':
      return {
        ok: false,
        kind: 'challenge',
        challenge: { kind: 'invalid_request', description: credentials.description },
      };
    case 'none':
      return config.authRequired
        ? { ok: false, kind: 'challenge', challenge: { kind: 'authentication_required', scopes: [] } }
        : { ok: true, principal: ANONYMOUS };
    case 'bearer': {
      const result = await verify(credentials.token);
      if (result.ok) return { ok: true, principal: result.principal };
      if (result.kind === 'unavailable') return { ok: false, kind: 'unavailable' };
      // An invalid token is refused on every request, public tools included: never downgraded.
      return { ok: false, kind: 'challenge', challenge: { kind: 'invalid_token', description: result.description } };
    }
  }
}
