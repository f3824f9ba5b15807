import fc from 'fast-check';
import type { Access } from '@/lib/policy';

/**
 * Generators and independent checks shared by the policy property tests in
 * tests/unit/policy-property.test.ts (tools; then resources and prompts).
 */

export const SCOPES = ['a:read', 'a:write', 'b:read'] as const;
export const ROLES = ['admin', 'member'] as const;
export const PERMISSIONS = ['x:manage', 'x:view'] as const;

export const RESOURCE = 'http://127.0.0.1:1/mcp';
export const PRM = 'http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp';
export const UNKNOWN = 'no_such_tool';

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------
export const requirementsArb = fc
  .record(
    {
      scopes: fc.subarray([...SCOPES]),
      org: fc.constant('required' as const),
      roles: fc.subarray([...ROLES]),
      permissions: fc.subarray([...PERMISSIONS]),
    },
    { requiredKeys: [] }, // any key may be absent; arrays may be empty
  )
  .filter(
    (r) => (r.scopes?.length ?? 0) + (r.roles?.length ?? 0) + (r.permissions?.length ?? 0) > 0 || r.org === 'required',
  );

export const accessArb: fc.Arbitrary<Access> = fc.oneof(
  { arbitrary: fc.constant('public' as const), weight: 1 },
  { arbitrary: fc.constant('signed-in' as const), weight: 1 },
  { arbitrary: requirementsArb, weight: 4 },
);

export type Caller =
  | { kind: 'anonymous' }
  | {
      kind: 'user';
      scopes: string[];
      org: string | undefined;
      roles: string[];
      permissions: string[];
      singleRoleClaim: boolean;
    };

export const callerArb: fc.Arbitrary<Caller> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'anonymous' as const }), weight: 1 },
  { arbitrary: userArb(), weight: 3 },
);
export function userArb() {
  return fc.record({
    kind: fc.constant('user' as const),
    scopes: fc.subarray([...SCOPES, 'openid']),
    org: fc.option(fc.constantFrom('org_acme', 'org_globex'), { nil: undefined }),
    roles: fc.subarray([...ROLES]),
    permissions: fc.subarray([...PERMISSIONS]),
    singleRoleClaim: fc.boolean(),
  });
}

/** Claims of a user caller: roles and permissions are always in the token (possibly empty). */
export function claimsOf(caller: Extract<Caller, { kind: 'user' }>): Record<string, unknown> {
  const membership =
    caller.singleRoleClaim && caller.roles.length === 1 ? { role: caller.roles[0] } : { roles: caller.roles };
  return {
    aud: RESOURCE,
    sub: 'user_prop',
    client_id: 'client_prop',
    scope: caller.scopes.join(' '),
    ...(caller.org ? { org_id: caller.org } : {}),
    ...membership,
    permissions: caller.permissions,
  };
}

export const AUTH_REQUIRED = new RegExp(`^Bearer resource_metadata="${escapeRegExp(PRM)}"(?:, scope="([^"]*)")?$`);
export const STEP_UP = new RegExp(
  `^Bearer error="insufficient_scope", scope="([^"]*)", error_description="The access token lacks a scope this tool requires", resource_metadata="${escapeRegExp(PRM)}"$`,
);
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
export const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

/**
 * (d) soundness, a necessary condition written independently of lib/policy.ts: a handler may run
 * only for a caller whose token carries every declared scope (exactly), an org when one is
 * needed, one of the roles and all of the permissions.
 */
export function holdsEverything(access: Access, caller: Caller): boolean {
  if (access === 'public') return true;
  if (caller.kind === 'anonymous') return false;
  if (access === 'signed-in') return true;
  const roles = access.roles ?? [];
  const permissions = access.permissions ?? [];
  const needsOrg = access.org === 'required' || roles.length > 0 || permissions.length > 0;
  return (
    (access.scopes ?? []).every((scope) => caller.scopes.includes(scope)) &&
    (!needsOrg || caller.org !== undefined) &&
    (roles.length === 0 || roles.some((role) => caller.roles.includes(role))) &&
    permissions.every((permission) => caller.permissions.includes(permission))
  );
}
