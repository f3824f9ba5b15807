import { z } from 'zod';
import { type CallerKind, CallerKindSchema } from './auth/caller-kind';
import { isScopeToken, type Challenge } from './auth/challenge';
import type { OrgPrincipal, Principal, UserPrincipal } from './auth/principal';
import { effectiveScopes, NO_HIERARCHY, type ScopeHierarchy } from './scope-hierarchy';

/**
 * Access policies and their one evaluation. The gate (before dispatch), the tool wrapper
 * (authoritative re-check) and tools/list all call `evaluate`, so they cannot disagree.
 */

/** OAuth scope-token (RFC 6749 §3.3), compared exactly and case-sensitively. */
export const ScopeSchema = z.string().refine(isScopeToken, 'not a valid OAuth scope token');

const RequirementsSchema = z.strictObject({
  /** All of these must be in the token's `scope` claim. */
  scopes: z.array(ScopeSchema).optional(),
  /** All of these permissions, from the token or the caller's organization membership. */
  permissions: z.array(z.string().min(1)).optional(),
  /** Any one of these roles, from the token or the caller's organization membership. */
  roles: z.array(z.string().min(1)).optional(),
  /** The token must carry `org_id`; the tool must scope its data by it. */
  org: z.literal('required').optional(),
  /** Which kinds of caller may call (lib/auth/caller-kind.ts); unset: people only. */
  callers: z.array(CallerKindSchema).min(1).optional(),
});
export type Requirements = z.infer<typeof RequirementsSchema>;

export const AccessSchema = z.union([z.literal('public'), z.literal('signed-in'), RequirementsSchema]);
export type Access = z.infer<typeof AccessSchema>;

type NonEmpty = readonly [string, ...string[]];

/**
 * The caller a policy lets through, as the type of its handlers' `principal`. Exact for a policy
 * written in place (`defineTool` infers it literally); a policy known only as `Access` gives `Principal`.
 */
export type PrincipalFor<A extends Access> = A extends 'public'
  ? Principal
  : A extends { org: 'required' } | { roles: NonEmpty } | { permissions: NonEmpty }
    ? OrgPrincipal
    : UserPrincipal;

/** Roles and permissions of the caller in their organization. */
export type Membership = { roles: readonly string[]; permissions: readonly string[] };

/**
 * What the membership lookup answered: the membership, 'unavailable' (the lookup failed: fail
 * closed with 503) or 'not_configured' (no WorkOS credentials: such tools are unreachable).
 */
export type MembershipAnswer = Membership | 'unavailable' | 'not_configured';

/** Why a caller can never reach a tool by re-authorizing; kept for the audit trail only. */
export type DenyReason =
  | 'caller_kind_not_allowed'
  | 'organization_required'
  | 'role_required'
  | 'permission_required'
  | 'identity_lookup_not_configured';

export type Decision =
  | { effect: 'allow' }
  /** Fixable by (re)authorization: 401 to sign in, 403 insufficient_scope to step up. */
  | { effect: 'challenge'; challenge: Challenge & { kind: 'authentication_required' | 'insufficient_scope' } }
  /** Not reachable by re-authorizing: hidden from tools/list and answered like an unknown tool. */
  | { effect: 'deny'; reason: DenyReason }
  /** A membership lookup was needed and failed: fail closed, nothing runs. */
  | { effect: 'unavailable' };

export function requiredScopes(access: Access): string[] {
  return typeof access === 'object' ? [...(access.scopes ?? [])] : [];
}

/** People only unless the policy names more kinds: nothing opens to machines or agents by accident. */
const PEOPLE: readonly CallerKind[] = Object.freeze(['user']);
const EVERYONE: readonly CallerKind[] = Object.freeze(['user', 'machine', 'agent']);

/** The caller kinds a policy admits (a public one: every kind, and anonymous callers too). */
export function callersOf(access: Access): readonly CallerKind[] {
  if (access === 'public') return EVERYONE;
  return typeof access === 'object' ? (access.callers ?? PEOPLE) : PEOPLE;
}

const kindAllowed = (access: Access, principal: Principal) =>
  principal.kind === 'user' && callersOf(access).includes(principal.callerKind);

const wantsRoles = (access: Access) => typeof access === 'object' && (access.roles?.length ?? 0) > 0;
const wantsPermissions = (access: Access) => typeof access === 'object' && (access.permissions?.length ?? 0) > 0;
const wantsOrganization = (access: Access) =>
  typeof access === 'object' && (access.org === 'required' || wantsRoles(access) || wantsPermissions(access));

/**
 * Whether the caller is what `PrincipalFor` promises this policy's handlers. `evaluate` allows no
 * caller this refuses, so the wrapper's re-check is what makes a handler's principal type true.
 */
export function admits<A extends Access>(access: A, principal: Principal): principal is PrincipalFor<A> {
  if (access === 'public') return true;
  if (principal.kind !== 'user' || !kindAllowed(access, principal)) return false;
  return !wantsOrganization(access) || Boolean(principal.organizationId);
}

/**
 * True when deciding needs the caller's organization membership: the policy asks for roles or
 * permissions and the token does not carry that attribute itself (token claims take precedence).
 */
export function needsMembership(access: Access, principal: Principal): boolean {
  if (principal.kind !== 'user' || principal.organizationId === undefined || !kindAllowed(access, principal))
    return false;
  return (wantsRoles(access) && !principal.roles) || needsLookedUpPermissions(access, principal);
}

/** True when deciding needs permissions from the lookup (which then reads the role catalog too). */
export function needsLookedUpPermissions(access: Access, principal: Principal): boolean {
  if (principal.kind !== 'user' || principal.organizationId === undefined || !kindAllowed(access, principal))
    return false;
  return wantsPermissions(access) && !principal.permissions;
}

/**
 * @param membership the lookup's answer when `needsMembership` was true. Each attribute comes from
 *   the token when the token carries it, else from the lookup.
 * @param hierarchy the registry's scope hierarchy: a granted scope satisfies every scope it implies.
 */
export function evaluate(
  access: Access,
  principal: Principal,
  membership?: MembershipAnswer,
  hierarchy: ScopeHierarchy = NO_HIERARCHY,
): Decision {
  if (access === 'public') return { effect: 'allow' };
  if (principal.kind === 'anonymous') {
    return { effect: 'challenge', challenge: { kind: 'authentication_required', scopes: requiredScopes(access) } };
  }
  // A kind the policy does not name never reaches it by re-authorizing: hidden, answered as unknown.
  if (!kindAllowed(access, principal)) return { effect: 'deny', reason: 'caller_kind_not_allowed' };
  if (access === 'signed-in') return { effect: 'allow' };
  if (!admits(access, principal)) return { effect: 'deny', reason: 'organization_required' };

  if (needsMembership(access, principal)) {
    if (membership === 'not_configured') return { effect: 'deny', reason: 'identity_lookup_not_configured' };
    // Never decided without data: a failed or skipped lookup fails closed.
    if (membership === undefined || membership === 'unavailable') return { effect: 'unavailable' };
  }
  const looked = typeof membership === 'object' ? membership : { roles: [], permissions: [] };
  const roles = principal.roles ?? looked.roles;
  const permissions = principal.permissions ?? looked.permissions;
  if (wantsRoles(access) && !(access.roles ?? []).some((role) => roles.includes(role))) {
    return { effect: 'deny', reason: 'role_required' };
  }
  if (wantsPermissions(access) && (access.permissions ?? []).some((p) => !permissions.includes(p))) {
    return { effect: 'deny', reason: 'permission_required' };
  }

  const held = effectiveScopes(principal.scopes, hierarchy);
  const missing = requiredScopes(access).filter((scope) => !held.has(scope));
  if (missing.length > 0) {
    return {
      effect: 'challenge',
      challenge: {
        // Granted plus what is missing: a scope the token already implies is not asked for again.
        kind: 'insufficient_scope',
        scopes: [...new Set([...principal.scopes, ...missing])],
        description: 'The access token lacks a scope this tool requires',
      },
    };
  }
  return { effect: 'allow' };
}

/** One line a reviewer can read: used by the audit trail, the inventory and the landing page. */
export function describeAccess(access: Access): string {
  return typeof access === 'string' ? access : describeRequirements(access);
}

function describeRequirements(access: Requirements): string {
  const parts: string[] = [];
  if (access.scopes?.length) parts.push(`scopes: ${access.scopes.join(' ')}`);
  if (access.roles?.length) parts.push(`role: ${access.roles.join(' | ')}`);
  if (access.permissions?.length) parts.push(`permissions: ${access.permissions.join(' ')}`);
  if (access.org === 'required') parts.push('organization required');
  if (access.callers) parts.push(`callers: ${access.callers.join(' ')}`);
  return parts.join('; ');
}
