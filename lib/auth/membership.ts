import type { Config } from '../config';
import { needsMembership, type MembershipAnswer } from '../policy';
import type { Registry } from '../registry';
import { toolCallsIn } from '../gate';
import { createIdentityLookup, type IdentityLookup } from './identity';
import type { Principal } from './principal';

/**
 * Looks up the caller's organization membership only when this request needs it: a call to a
 * role/permission tool whose attribute the token lacks, or a tools/list that must decide whether
 * to show one. Everything else never waits on WorkOS.
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

export function membershipNeeded(message: unknown, registry: Registry, principal: Principal): boolean {
  const dependent = registry.tools.filter((tool) => needsMembership(tool.access, principal));
  if (dependent.length === 0) return false;
  if (methodsIn(message).includes('tools/list')) return true;
  return toolCallsIn(message).some((call) => dependent.some((tool) => tool.name === call.name));
}

export async function resolveMembership(
  principal: Principal,
  lookupService: IdentityLookup | undefined,
): Promise<MembershipAnswer> {
  if (principal.kind !== 'user' || !principal.organizationId) return { roles: [], permissions: [] };
  if (!lookupService) return 'not_configured';
  return lookupService.membership(principal.subject, principal.organizationId);
}
