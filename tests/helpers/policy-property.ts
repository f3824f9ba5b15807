import fc from 'fast-check';
import type { Approval } from '@/lib/auth/approvals';
import type { CallerKind } from '@/lib/auth/caller-kind';
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
export const KINDS: readonly CallerKind[] = ['user', 'machine', 'agent'];

export const requirementsArb = fc
  .record(
    {
      scopes: fc.subarray([...SCOPES]),
      org: fc.constant('required' as const),
      roles: fc.subarray([...ROLES]),
      permissions: fc.subarray([...PERMISSIONS]),
      callers: fc.subarray([...KINDS], { minLength: 1 }),
    },
    { requiredKeys: [] }, // any key may be absent; arrays may be empty
  )
  .filter(
    (r) =>
      (r.scopes?.length ?? 0) + (r.roles?.length ?? 0) + (r.permissions?.length ?? 0) > 0 ||
      r.org === 'required' ||
      r.callers !== undefined,
  )
  // The registry refuses these at load time: a machine holds no organization membership.
  .filter((r) => !(r.callers?.includes('machine') && (r.roles?.length || r.permissions?.length)));

export const accessArb: fc.Arbitrary<Access> = fc.oneof(
  { arbitrary: fc.constant('public' as const), weight: 1 },
  { arbitrary: fc.constant('signed-in' as const), weight: 1 },
  { arbitrary: requirementsArb, weight: 4 },
);

/** Whether the caller's client is listed in the approvals file: approved, not listed, or listed and expired. */
export type ApprovalState = 'approved' | 'unlisted' | 'expired';

export type Caller =
  | { kind: 'anonymous' }
  | {
      kind: 'user';
      /** Who holds the token: the claims are shaped after it (lib/auth/caller-kind.ts). */
      callerKind: CallerKind;
      approval: ApprovalState;
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
    callerKind: fc.constantFrom<CallerKind>(...KINDS),
    approval: fc.constantFrom<ApprovalState>('approved', 'unlisted', 'expired'),
    scopes: fc.subarray([...SCOPES, 'openid']),
    org: fc.option(fc.constantFrom('org_acme', 'org_globex'), { nil: undefined }),
    roles: fc.subarray([...ROLES]),
    permissions: fc.subarray([...PERMISSIONS]),
    singleRoleClaim: fc.boolean(),
  });
}

/** The client every generated caller uses; its approval follows the caller's `approval`. */
export const CLIENT = 'client_prop';
/** Clients a retry signs in with as a machine or an agent, always approved. */
const RETRY_CLIENT: Record<CallerKind, string> = {
  user: CLIENT,
  machine: 'client_retry_machine',
  agent: 'client_retry_agent',
};
const APPROVAL_KIND = { user: 'interactive', machine: 'machine', agent: 'agent' } as const;

/** The approvals file a run's registry loads: the retry clients, and the caller's own client by its state. */
export function approvalsFor(caller: Caller): Approval[] {
  const entry = (clientId: string, kind: CallerKind, expires: string): Approval => ({
    clientId,
    kind: APPROVAL_KIND[kind],
    owner: 'property',
    purpose: 'generated',
    scopes: [...SCOPES],
    expires,
  });
  const retries = [
    entry(RETRY_CLIENT.machine, 'machine', '2099-01-01'),
    entry(RETRY_CLIENT.agent, 'agent', '2099-01-01'),
  ];
  if (caller.kind !== 'user' || caller.approval === 'unlisted') return retries;
  return [...retries, entry(CLIENT, caller.callerKind, caller.approval === 'expired' ? '2020-01-01' : '2099-01-01')];
}

/** Refused before any policy (403): an expired approval, or a machine or agent nobody listed. */
export function clientRefused(caller: Caller): boolean {
  if (caller.kind !== 'user') return false;
  return caller.approval === 'expired' || (caller.approval === 'unlisted' && caller.callerKind !== 'user');
}

/** The identity claims of a token of this kind: a person's has a session, a machine's is its client. */
function shapeOf(kind: CallerKind, clientId: string): Record<string, unknown> {
  if (kind === 'machine') return { sub: clientId, client_id: clientId, sid: undefined };
  if (kind === 'agent') return { sub: 'agent_prop', client_id: clientId, sub_profile: 'agent', sid: undefined };
  return { sub: 'user_prop', client_id: clientId, sid: 'consent_prop' };
}

/** Claims of a signed-in caller: roles and permissions are always in a person's token (possibly empty). */
export function claimsOf(caller: Extract<Caller, { kind: 'user' }>): Record<string, unknown> {
  const membership =
    caller.singleRoleClaim && caller.roles.length === 1 ? { role: caller.roles[0] } : { roles: caller.roles };
  return {
    aud: RESOURCE,
    ...shapeOf(caller.callerKind, CLIENT),
    scope: caller.scopes.join(' '),
    ...(caller.org ? { org_id: caller.org } : {}),
    // A machine's token names an application: never a role or a permission.
    ...(caller.callerKind !== 'machine' ? { ...membership, permissions: caller.permissions } : {}),
  };
}

/** What signing in after a 401 gives: the first kind the policy admits, with every role and permission it can hold. */
export function signInClaims(access: Access, scopes: string[]): Record<string, unknown> {
  const kind = admittedKinds(access)[0] ?? 'user';
  return {
    aud: RESOURCE,
    ...shapeOf(kind, RETRY_CLIENT[kind]),
    org_id: 'org_acme',
    scope: scopes.join(' '),
    ...(kind !== 'machine' ? { roles: [...ROLES], permissions: [...PERMISSIONS] } : {}),
  };
}

/** The kinds a policy admits, written independently of lib/policy.ts: people only unless it says more. */
export function admittedKinds(access: Access): readonly CallerKind[] {
  if (access === 'public') return KINDS;
  return typeof access === 'object' ? (access.callers ?? ['user']) : ['user'];
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
  if (!admittedKinds(access).includes(caller.callerKind)) return false;
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
