import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { CLOCK_TOLERANCE_SECONDS, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, MAX_TOKEN_LENGTH, type Config } from '../config';
import { CLASSIFICATION_DESCRIPTIONS, classifyCaller } from './caller-kind';
import { audiencesOf, tokenTypeProblem } from './token-type';
import { AccessTokenClaimsSchema, principalFromClaims, type UserPrincipal } from './principal';
import { createTokenCache, type TokenCache } from './token-cache';
import { isCanonicalBase64url } from '../util/base64url';

/**
 * Access-token verification with jose: pinned issuer, audience, algorithm allowlist and the
 * issuer's JWKS only (RFC 9068 §4, RFC 8725 §3). Results carry fixed descriptions; no token
 * byte is ever copied into one.
 */
export type VerifyResult =
  | { ok: true; principal: UserPrincipal }
  /** `reason`: what the audit records when it says more than `invalid_token` (the caller still reads invalid_token). */
  | { ok: false; kind: 'invalid_token'; description: string; reason?: string }
  /** The JWKS could not be fetched: fail closed with 503, never fall back to anonymous. */
  | { ok: false; kind: 'unavailable' };

export type TokenVerifier = (token: string) => Promise<VerifyResult>;

export type VerifierOptions = Pick<Config, 'issuer' | 'jwksUrl' | 'audiences' | 'algorithms'> & {
  /** Longest accepted `exp - iat` (and age since `iat`); default DEFAULT_MAX_TOKEN_LIFETIME_SECONDS. */
  maxTokenLifetimeSeconds?: number;
  /** Audiences that are not this resource (AUTH_EXTRA_AUDIENCES): a token matching only these gets stricter type checks. */
  extraAudiences?: readonly string[];
  /**
   * The WorkOS environment client id: accepted as `aud` for machine tokens only (WorkOS M2M tokens
   * carry it instead of the resource). A person's or an agent's token with only this audience is refused.
   */
  environmentClientId?: string;
  /** Injected in tests to count or slow JWKS fetches; production uses jose's remote set. */
  keys?: JWTVerifyGetKey;
  /** How long the issuer's key set is trusted before it is fetched again; default 10 minutes (jose's). */
  keySetMaxAgeMs?: number;
  /** Verified-token cache; one per verifier by default, `false` to verify every time. */
  cache?: TokenCache | false;
};

// Compact JWS only: three base64url segments, a non-empty signature. Rejects JWE (5 parts) and alg "none".
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const invalid = (description: string): VerifyResult => ({ ok: false, kind: 'invalid_token', description });

const LIFETIME_EXCEEDED = 'The access token lifetime exceeds the allowed maximum';

function classify(error: unknown): VerifyResult {
  if (error instanceof errors.JWTExpired) {
    // jose's maxTokenAge reports an `iat` older than the limit as JWTExpired on the iat claim.
    return invalid(error.claim === 'iat' ? LIFETIME_EXCEEDED : 'The access token expired');
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return invalid('The access token lacks a required claim');
    // A claim of the wrong type (e.g. "nbf": "soon") is malformed, not "not yet valid".
    if (error.reason === 'invalid') return invalid('The access token has an invalid claim');
    switch (error.claim) {
      case 'iat':
        return invalid('The access token was issued in the future');
      case 'aud':
        return invalid('The access token was not issued for this resource');
      case 'iss':
        return invalid('The access token was not issued by the trusted issuer');
      case 'nbf':
        return invalid('The access token is not valid yet');
      default:
        return invalid('The access token has an invalid claim');
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return invalid('The access token uses an algorithm that is not allowed');
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid('The access token signature is invalid');
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return invalid('The access token was signed with an unknown key');
  }
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported
  ) {
    return invalid('The access token is malformed');
  }
  // Timeouts, network failures, a JWKS that is not 200 or not a key set: the issuer is unavailable.
  return { ok: false, kind: 'unavailable' };
}

export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  // Created once per verifier (one per isolate): jose caches keys and rate-limits refetches for unknown kids.
  const keys =
    options.keys ??
    createRemoteJWKSet(new URL(options.jwksUrl), {
      timeoutDuration: 5_000,
      cooldownDuration: 30_000,
      cacheMaxAge: options.keySetMaxAgeMs ?? 10 * 60_000,
    });

  const cache = options.cache === false ? undefined : (options.cache ?? createTokenCache());
  const maxLifetime = options.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  const extraAudiences = options.extraAudiences ?? [];
  const resourceAudiences = options.audiences.filter((aud) => !extraAudiences.includes(aud));
  const environment = options.environmentClientId;
  const acceptedAudiences =
    environment && !options.audiences.includes(environment) ? [...options.audiences, environment] : options.audiences;

  // jose decodes leniently, so without the canonical check a token's signature segment could be
  // re-spelled into a different string that verifies the same: anything keyed on the token string
  // (the cache, deny lists, log correlation) would see a new token.
  return async function verify(token: string): Promise<VerifyResult> {
    if (token.length > MAX_TOKEN_LENGTH) return invalid('The access token is malformed');
    // A hit is the same string as a token that passed every check below, so it skips them.
    const cached = cache?.get(token);
    if (cached) return { ok: true, principal: cached };
    if (!COMPACT_JWS.test(token) || !token.split('.').every(isCanonicalBase64url)) {
      return invalid('The access token is malformed');
    }
    try {
      const { payload, protectedHeader } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: acceptedAudiences,
        algorithms: [...options.algorithms],
        // jti: RFC 9068 §2.2 requires it, AuthKit's access tokens carry it and its ID tokens do not.
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        // Also refuses an `iat` in the future (beyond the tolerance) or older than the limit.
        maxTokenAge: maxLifetime,
      });
      const claims = AccessTokenClaimsSchema.safeParse(payload);
      if (!claims.success) return invalid('The access token has an invalid claim');
      if (claims.data.exp - claims.data.iat > maxLifetime) return invalid(LIFETIME_EXCEEDED);
      if (tokenTypeProblem(protectedHeader, payload, resourceAudiences))
        return invalid('The token is not an access token');
      const caller = classifyCaller(claims.data);
      if (!caller.ok)
        return {
          ok: false,
          kind: 'invalid_token',
          description: CLASSIFICATION_DESCRIPTIONS[caller.reason],
          reason: `token_${caller.reason}`,
        };
      // The environment audience is a machine token's only: anyone else's must name this resource (or an extra audience).
      if (caller.kind !== 'machine' && !audiencesOf(payload).some((aud) => options.audiences.includes(aud)))
        return invalid('The access token was not issued for this resource');
      const principal = principalFromClaims(claims.data, { callerKind: caller.kind, actors: caller.actors });
      cache?.set(token, principal);
      return { ok: true, principal };
    } catch (error) {
      return classify(error);
    }
  };
}
