import { z } from 'zod';
import { CallerKindSchema } from './caller-kind';

/** The claims we read from an AuthKit (or local) access token; anything else is ignored. */
export const AccessTokenClaimsSchema = z.looseObject({
  sub: z.string().min(1),
  exp: z.number(),
  iat: z.number(),
  org_id: z.string().min(1).optional(),
  client_id: z.string().min(1).optional(),
  scope: z.string().optional(),
  sid: z.string().min(1).optional(),
  jti: z.string().min(1).optional(),
  // AuthKit MCP tokens carry none of these today; when a token does, it takes precedence over a lookup.
  role: z.string().min(1).optional(),
  roles: z.array(z.string().min(1)).optional(),
  permissions: z.array(z.string().min(1)).optional(),
  // Read by the caller classification (lib/auth/caller-kind.ts), which checks their shapes itself.
  sub_profile: z.unknown().optional(),
  act: z.unknown().optional(),
  cnf: z.unknown().optional(),
});
export type AccessTokenClaims = z.infer<typeof AccessTokenClaimsSchema>;

/**
 * A caller with a verified token. `kind: 'user'` says only that: signed in, not anonymous. Who holds
 * the token is `callerKind` (a person, a machine, an agent; lib/auth/caller-kind.ts).
 */
const UserPrincipalSchema = z.object({
  kind: z.literal('user'),
  callerKind: CallerKindSchema,
  /** RFC 8693 `act` subjects, current actor first; empty when the token was not exchanged. */
  actors: z.array(z.string()),
  subject: z.string().min(1),
  organizationId: z.string().optional(),
  clientId: z.string().optional(),
  scopes: z.array(z.string()),
  sessionId: z.string().optional(),
  tokenId: z.string().optional(),
  issuedAt: z.number(),
  expiresAt: z.number(),
  /** Present only when the token itself carried them. */
  roles: z.array(z.string()).optional(),
  permissions: z.array(z.string()).optional(),
});
export type UserPrincipal = z.infer<typeof UserPrincipalSchema>;
/** A signed-in caller in an organization: what a policy requiring one promises its handlers. */
export type OrgPrincipal = UserPrincipal & { organizationId: string };

const AnonymousPrincipalSchema = z.object({ kind: z.literal('anonymous') });
export type AnonymousPrincipal = z.infer<typeof AnonymousPrincipalSchema>;

const PrincipalSchema = z.discriminatedUnion('kind', [UserPrincipalSchema, AnonymousPrincipalSchema]);
export type Principal = z.infer<typeof PrincipalSchema>;

/** The classification of a person's token without an actor, for code that builds a principal by hand (benchmarks, tests). */
export const PERSON: Pick<UserPrincipal, 'callerKind' | 'actors'> = Object.freeze({ callerKind: 'user', actors: [] });

export const ANONYMOUS: AnonymousPrincipal = Object.freeze({ kind: 'anonymous' });

/** `scope` is space-delimited and case-sensitive (RFC 6749 §3.3); values are kept exactly. */
function parseScopes(scope: string | undefined): string[] {
  return [...new Set((scope ?? '').split(' ').filter(Boolean))];
}

/** Frozen through its arrays: one principal is shared by the cache, the gate, tools and the audit. */
export function principalFromClaims(
  claims: AccessTokenClaims,
  caller: Pick<UserPrincipal, 'callerKind' | 'actors'>,
): UserPrincipal {
  const roles = claims.roles ?? (claims.role ? [claims.role] : undefined);
  return Object.freeze({
    kind: 'user',
    callerKind: caller.callerKind,
    actors: Object.freeze([...caller.actors]) as string[],
    subject: claims.sub,
    organizationId: claims.org_id,
    clientId: claims.client_id,
    scopes: Object.freeze(parseScopes(claims.scope)) as string[],
    sessionId: claims.sid,
    tokenId: claims.jti,
    issuedAt: claims.iat,
    expiresAt: claims.exp,
    ...(roles ? { roles: Object.freeze([...roles]) as string[] } : {}),
    ...(claims.permissions ? { permissions: Object.freeze([...claims.permissions]) as string[] } : {}),
  });
}
