// The seeded development directory: who can sign in to the local authorization
// server, which organizations they belong to, and what each role may do. Plain
// data on purpose: the field names follow the WorkOS API (camelCase,
// `role.slug`, `status`, `permissions` on roles) so scripts/local-auth/workos-api.ts
// serves these same records through WorkOS shapes without a mapping layer.
// Here, not in scripts/, because the landing page lists these users in
// development and nothing that ships imports scripts/; it imports nothing, and a
// production build leaves it out (app/_landing/local-sign-in.ts).

export interface Organization {
  readonly id: string;
  readonly name: string;
}

export interface User {
  readonly id: string;
  /** Short name used by the CLI and test helpers (`--user alice`). */
  readonly handle: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly firstName: string;
  readonly lastName: string;
}

export interface OrganizationMembership {
  readonly id: string;
  readonly userId: string;
  readonly organizationId: string;
  readonly role: { readonly slug: string };
  readonly status: 'active';
}

/** A role of the environment, offered to every organization (WorkOS `EnvironmentRole`). */
export interface Role {
  readonly slug: string;
  readonly name: string;
  readonly description: string;
  /** Permission slugs, as configured on the role in the WorkOS dashboard. */
  readonly permissions: readonly string[];
}

export const organizations: readonly Organization[] = [
  { id: 'org_acme', name: 'Acme Corp' },
  { id: 'org_globex', name: 'Globex Corporation' },
];

export const users: readonly User[] = [
  {
    id: 'user_alice',
    handle: 'alice',
    email: 'alice@acme.test',
    emailVerified: true,
    firstName: 'Alice',
    lastName: 'Anderson',
  },
  {
    id: 'user_bob',
    handle: 'bob',
    email: 'bob@acme.test',
    emailVerified: true,
    firstName: 'Bob',
    lastName: 'Baker',
  },
  {
    id: 'user_carol',
    handle: 'carol',
    email: 'carol@globex.test',
    emailVerified: true,
    firstName: 'Carol',
    lastName: 'Chen',
  },
];

// Permissions live on roles, as in WorkOS (memberships carry role slugs only).
// Named after what the bundled tools do: members work with notes, admins also
// delete them and see who is in the organization.
export const roles: readonly Role[] = [
  {
    slug: 'admin',
    name: 'Admin',
    description: 'Manages the organization',
    permissions: ['members:read', 'notes:read', 'notes:write', 'notes:delete'],
  },
  {
    slug: 'member',
    name: 'Member',
    description: 'Works with notes',
    permissions: ['notes:read', 'notes:write'],
  },
];

export const memberships: readonly OrganizationMembership[] = [
  {
    id: 'om_alice_acme',
    userId: 'user_alice',
    organizationId: 'org_acme',
    role: { slug: 'admin' },
    status: 'active',
  },
  {
    id: 'om_bob_acme',
    userId: 'user_bob',
    organizationId: 'org_acme',
    role: { slug: 'member' },
    status: 'active',
  },
  {
    id: 'om_carol_globex',
    userId: 'user_carol',
    organizationId: 'org_globex',
    role: { slug: 'admin' },
    status: 'active',
  },
];

/** Finds a user by short name (`alice`), id (`user_alice`) or email. */
export function findUser(nameOrId: string): User | undefined {
  const key = nameOrId.trim().toLowerCase();
  return users.find((u) => u.handle === key || u.id === key || u.email === key);
}

/** Exact id lookup, for token subjects (`sub` is always a user id). */
export function findUserById(id: string): User | undefined {
  return users.find((u) => u.id === id);
}

export function findOrganization(id: string): Organization | undefined {
  return organizations.find((o) => o.id === id);
}

export function membershipsOf(userId: string): OrganizationMembership[] {
  return memberships.filter((m) => m.userId === userId);
}

export function membershipsIn(organizationId: string): OrganizationMembership[] {
  return memberships.filter((m) => m.organizationId === organizationId);
}

export function findMembership(userId: string, organizationId: string): OrganizationMembership | undefined {
  return memberships.find((m) => m.userId === userId && m.organizationId === organizationId);
}

/** The organizations a user can sign in to, in seed order. */
export function organizationsOf(userId: string): Organization[] {
  return membershipsOf(userId).flatMap((m) => {
    const org = findOrganization(m.organizationId);
    return org ? [org] : [];
  });
}

export function displayName(user: User): string {
  return `${user.firstName} ${user.lastName}`;
}
