import type { Config } from '../config';
import { needsLookedUpPermissions, needsMembership, type Access, type MembershipAnswer } from '../policy';
import type { Registry } from '../registry';
import { toolCallsIn } from '../gate';
import { createIdentityLookup, type IdentityLookup } from './identity';
import type { Principal } from './principal';

/**
 * Looks up the caller's organization membership only when this request needs it: a call to a
 * role/permission tool whose attribute the token lacks, or a tools/list that must decide whether
 * to show one. Everything else never waits on WorkOS. Token claims take precedence attribute by
 * attribute (lib/policy.ts `evaluate`): a token's roles or permissions are never looked up.
 */
let lookup: { key: string; value: IdentityLookup | undefined } | undefined;

/** One lookup (and so one cache) per isolate and WorkOS configuration. */
export function identityLookupFor(config: Config): IdentityLookup | undefined {
  const key = JSON.stringify(config.workos ?? null);
  if (lookup?.key !== key) lookup = { key, value: createIdentityLookup(config.workos) };
  return lookup.value;
}

function methodsIn(message: unknown): string[] {
  const items = Array.isArray(message) ? message : [message];
  return items.flatMap((item) => {
    const method = typeof item === 'object' && item !== null ? (item as { method?: unknown }).method : undefined;
    return typeof method === 'string' ? [method] : [];
  });
}

/** Whether the message reaches a tool whose policy depends on the lookup (tools/list reaches all). */
function reachesTool(message: unknown, registry: Registry, dependsOnLookup: (access: Access) => boolean): boolean {
  const dependent = registry.tools.filter((tool) => dependsOnLookup(tool.access));
  if (dependent.length === 0) return false;
  if (methodsIn(message).includes('tools/list')) return true;
  return toolCallsIn(message).some((call) => dependent.some((tool) => tool.name === call.name));
}

export function membershipNeeded(message: unknown, registry: Registry, principal: Principal): boolean {
  return reachesTool(message, registry, (access) => needsMembership(access, principal));
}

/** Whether this request needs looked-up permissions, i.e. the organization's role catalog as well. */
export function permissionsNeeded(message: unknown, registry: Registry, principal: Principal): boolean {
  return reachesTool(message, registry, (access) => needsLookedUpPermissions(access, principal));
}

/**
 * @param needs pass `{ permissions: permissionsNeeded(...) }` to skip the role catalog when only
 *   roles decide this request. Without it the catalog is read whenever the token lacks permissions.
 */
export async function resolveMembership(
  principal: Principal,
  lookupService: IdentityLookup | undefined,
  needs?: { permissions: boolean },
): Promise<MembershipAnswer> {
  if (principal.kind !== 'user' || !principal.organizationId) return { roles: [], permissions: [] };
  if (!lookupService) return 'not_configured';
  // Token permissions win over looked-up ones, so the catalog would be read for nothing.
  const permissions = (needs?.permissions ?? true) && !principal.permissions;
  return lookupService.membership(principal.subject, principal.organizationId, { permissions });
}
