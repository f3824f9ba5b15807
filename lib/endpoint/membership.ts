import { perConfig, type Config } from '../config';
import { needsLookedUpPermissions, needsMembership, type Access, type MembershipAnswer } from '../policy';
import type { Registry } from '../registry';
import { toolCallsIn } from './gate';
import { createIdentityLookup, type IdentityLookup } from '../auth/identity';
import type { Principal } from '../auth/principal';

/**
 * Looks up the caller's organization membership only when this request needs it: a call to a
 * role/permission tool whose attribute the token lacks, or a tools/list that must decide whether
 * to show one. Everything else never waits on WorkOS. Token claims take precedence attribute by
 * attribute (lib/policy.ts `evaluate`): a token's roles or permissions are never looked up.
 */
/** One lookup (and so one cache) per isolate and WorkOS configuration. */
export const identityLookupFor: (config: Config) => IdentityLookup | undefined = perConfig(
  (config) => config.workos ?? null,
  (config) => createIdentityLookup(config.workos),
);

function isToolsList(message: unknown): boolean {
  const items = Array.isArray(message) ? message : [message];
  for (const item of items) {
    if (typeof item === 'object' && item !== null && (item as { method?: unknown }).method === 'tools/list')
      return true;
  }
  return false;
}

/** Whether the message reaches a tool whose policy depends on the lookup (tools/list reaches all). */
function reachesTool(message: unknown, registry: Registry, dependsOnLookup: (access: Access) => boolean): boolean {
  // Runs on every request: plain loops, and the message is only read when some tool depends.
  if (!registry.tools.some((tool) => dependsOnLookup(tool.access))) return false;
  if (isToolsList(message)) return true;
  return toolCallsIn(message).some((call) => {
    const tool = registry.get(call.name);
    return tool !== undefined && dependsOnLookup(tool.access);
  });
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
