import { perConfig, type Config } from '../config';
import { needsLookedUpPermissions, needsMembership, type Access, type MembershipAnswer } from '../policy';
import type { Primitive, Registry } from '../registry';
import type { Envelope } from '../wire/envelope';
import { primitiveOf } from './gate';
import { createDirectoryLookup, type DirectoryLookup } from '../directory/workos';
import type { Principal } from '../auth/principal';

/**
 * Looks up the caller's organization membership only when this request needs it: a call to a
 * role/permission primitive whose attribute the token lacks, or a list that must decide whether
 * to show one. Everything else never waits on WorkOS. Token claims take precedence attribute by
 * attribute (lib/policy.ts `evaluate`): a token's roles or permissions are never looked up.
 */
/** One lookup (and so one cache) per isolate and WorkOS configuration. */
export const directoryLookupFor: (config: Config) => DirectoryLookup | undefined = perConfig(
  (config) => config.workos ?? null,
  (config) => createDirectoryLookup(config.workos),
);

/** Which kind of primitive a list method shows: a list reaches every primitive of its kind. */
const LISTS: Readonly<Record<string, Primitive['kind']>> = {
  'tools/list': 'tool',
  'resources/list': 'resource',
  'resources/templates/list': 'resource',
  'prompts/list': 'prompt',
};

/** Whether the message reaches a primitive whose policy depends on the lookup (a list reaches all of its kind). */
function reaches(envelope: Envelope, registry: Registry, dependsOnLookup: (access: Access) => boolean): boolean {
  // Runs on every request: plain loops, and the message is only read when some primitive depends.
  const depends = (definitions: ReadonlyArray<{ access: Access }>) =>
    definitions.some((d) => dependsOnLookup(d.access));
  const byKind = { tool: registry.tools, resource: registry.resources, prompt: registry.prompts };
  if (!depends(registry.tools) && !depends(registry.resources) && !depends(registry.prompts)) return false;
  for (const method of envelope.methods) {
    const kind = Object.hasOwn(LISTS, method) ? LISTS[method] : undefined;
    if (kind && depends(byKind[kind])) return true;
  }
  return envelope.calls.some((call) => {
    // A URI may match several resources; which one the caller reaches depends on the decision itself.
    if (call.method === 'resources/read' && call.name !== undefined) {
      const uri = call.name;
      return registry.resources.some(
        (r) => dependsOnLookup(r.access) && registry.resource(uri, (candidate) => candidate === r) !== undefined,
      );
    }
    const primitive = primitiveOf(call, registry);
    return primitive !== undefined && dependsOnLookup(primitive.definition.access);
  });
}

export function membershipNeeded(envelope: Envelope, registry: Registry, principal: Principal): boolean {
  return reaches(envelope, registry, (access) => needsMembership(access, principal));
}

/** Whether this request needs looked-up permissions, i.e. the organization's role catalog as well. */
export function permissionsNeeded(envelope: Envelope, registry: Registry, principal: Principal): boolean {
  return reaches(envelope, registry, (access) => needsLookedUpPermissions(access, principal));
}

/**
 * @param needs pass `{ permissions: permissionsNeeded(...) }` to skip the role catalog when only
 *   roles decide this request. Without it the catalog is read whenever the token lacks permissions.
 */
export async function resolveMembership(
  principal: Principal,
  lookupService: DirectoryLookup | undefined,
  needs?: { permissions: boolean },
): Promise<MembershipAnswer> {
  if (principal.kind !== 'user' || !principal.organizationId) return { roles: [], permissions: [] };
  if (!lookupService) return 'not_configured';
  // Token permissions win over looked-up ones, so the catalog would be read for nothing.
  const permissions = (needs?.permissions ?? true) && !principal.permissions;
  return lookupService.membership(principal.subject, principal.organizationId, { permissions });
}
