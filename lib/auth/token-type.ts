import type { JWTHeaderParameters, JWTPayload } from 'jose';

/**
 * Tells an access token from the other JWTs the same issuer signs with the same keys (ID tokens,
 * logout tokens, ...), by mutually exclusive rules (RFC 8725 §3.12), since AuthKit documents no `typ`:
 *
 *  - `typ`, when present, must be `at+jwt` (RFC 9068 §2.1, what oidc-provider emits) or the generic
 *    `JWT`; anything else (`logout+jwt`, `secevent+jwt`, `dpop+jwt`, ...) names another kind of token;
 *  - claims that exist only in ID tokens (`nonce`, `at_hash`, `c_hash`, `s_hash`: OpenID Connect Core
 *    §2, §3.3.2.11) are refused outright;
 *  - when `aud` matches only an AUTH_EXTRA_AUDIENCES value (a client id, which is exactly what an ID
 *    token carries), end-user profile claims are refused too: AuthKit puts them in ID tokens only.
 *
 * `jti` is required by the verifier itself: AuthKit's ID tokens carry none.
 */
const ACCESS_TOKEN_TYPES: ReadonlySet<string> = new Set(['at+jwt', 'jwt']);
const ID_TOKEN_ONLY_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash'] as const;
const PROFILE_CLAIMS = [
  'email',
  'email_verified',
  'name',
  'given_name',
  'family_name',
  'middle_name',
  'nickname',
  'preferred_username',
  'picture',
  'phone_number',
  'phone_number_verified',
  'address',
  'birthdate',
] as const;

/** `typ` compared case-insensitively without the optional `application/` prefix (RFC 7515 §4.1.9). */
function normalizedType(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

export function audiencesOf(payload: JWTPayload): string[] {
  return typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
}

/**
 * Why this verified JWT is not an access token for us, or undefined when it is one.
 * `resourceAudiences` are the audiences that name this resource (not AUTH_EXTRA_AUDIENCES).
 */
export function tokenTypeProblem(
  header: JWTHeaderParameters,
  payload: JWTPayload,
  resourceAudiences: readonly string[],
): 'type' | 'id_token_claim' | 'profile_claim' | undefined {
  if (
    header.typ !== undefined &&
    (typeof header.typ !== 'string' || !ACCESS_TOKEN_TYPES.has(normalizedType(header.typ)))
  )
    return 'type';
  if (ID_TOKEN_ONLY_CLAIMS.some((claim) => claim in payload)) return 'id_token_claim';
  const forThisResource = audiencesOf(payload).some((aud) => resourceAudiences.includes(aud));
  if (!forThisResource && PROFILE_CLAIMS.some((claim) => claim in payload)) return 'profile_claim';
  return undefined;
}
