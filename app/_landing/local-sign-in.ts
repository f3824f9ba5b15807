/** A seeded user of the local authorization server, as the landing page lists it. */
export type SeededUser = {
  handle: string;
  name: string;
  email: string;
  /** "Acme Corp (org_acme): admin", one per membership. */
  memberships: string[];
};

/**
 * The users to sign in as, when this server trusts the local authorization server: development with
 * AUTHKIT_DOMAIN unset, the same test scripts/local-auth/main.ts makes before it starts. Otherwise
 * undefined. The seeded directory stays in one place (./seeded-directory.ts, which the local
 * authorization server reads too) and never reaches a production build: Next replaces
 * `process.env.NODE_ENV` at build time, so the import below is dead code there and is not bundled
 * (tests/e2e/landing-page.test.ts checks the output).
 */
export async function localSignIn(
  env: Record<string, string | undefined> = process.env,
): Promise<SeededUser[] | undefined> {
  if (process.env.NODE_ENV === 'production') return undefined;
  if (env.AUTHKIT_DOMAIN) return undefined;
  const directory = await import('./seeded-directory');
  return directory.users.map((user) => ({
    handle: user.handle,
    name: directory.displayName(user),
    email: user.email,
    memberships: directory.membershipsOf(user.id).map((m) => {
      const org = directory.findOrganization(m.organizationId);
      return `${org?.name ?? m.organizationId} (${m.organizationId}): ${m.role.slug}`;
    }),
  }));
}
