import { z } from 'zod';

/**
 * An organization's roles with their permissions, as `authorization.listOrganizationRoles` of
 * `@workos-inc/node` returns them (GET /authorization/organizations/:id/roles: the environment
 * roles and the organization's custom roles). Permissions live here, not on the membership, so a
 * caller's permissions are derived from their role slugs.
 */

// What we read from the SDK's deserialized roles; anything else is ignored.
const CatalogRoleSchema = z.object({
  slug: z.string().min(1),
  permissions: z.array(z.string().min(1)),
});
export type CatalogRole = z.infer<typeof CatalogRoleSchema>;

export const RoleCatalogSchema = z.object({ data: z.array(CatalogRoleSchema) });

/**
 * The union of the permissions of the given role slugs, in catalog order, without duplicates.
 * A slug missing from the catalog grants nothing.
 */
export function permissionsOf(roles: readonly string[], catalog: readonly CatalogRole[]): string[] {
  const held = new Set(roles);
  return [...new Set(catalog.flatMap((role) => (held.has(role.slug) ? role.permissions : [])))];
}
