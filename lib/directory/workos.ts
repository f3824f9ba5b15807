import { WorkOS } from '@workos-inc/node';
import { z } from 'zod';
import { parseSecureUrl, type Config } from '../config';
import type { Membership } from '../policy';
import { permissionsOf, RoleCatalogSchema, type CatalogRole } from './role-catalog';
import { evictOldest } from '../util/bounded-map';
import { deepFreeze } from '../util/deep-freeze';
import { withDeadline } from '../util/deadline';

/**
 * Server-side identity lookups against the WorkOS User Management and Authorization APIs, for what
 * AuthKit MCP access tokens do not carry: the caller's roles and permissions in their organization,
 * user profiles, an organization's members. Edge-safe: the real `@workos-inc/node` client (its
 * `edge-light`/`workerd` entry on the Edge, which talks over `fetch`), zod for everything read
 * back, no Node built-ins.
 *
 * Caching (per isolate, per lookup object):
 * - answers are kept for `ttlMs` (default 60 s, at most 300 s), keyed by user + organization for
 *   memberships, by organization for role catalogs and member lists, by user for profiles;
 * - a user without an active membership in the organization is an answer (`{ roles: [], permissions: [] }`)
 *   and is cached like any other;
 * - failures (network, non-2xx including 401/404, timeout, unexpected shapes) answer 'unavailable' and
 *   are remembered for `failureTtlMs` (default 2 s, 0 disables) so an outage is not hammered by every
 *   request; after that the next call asks the API again;
 * - at most `maxEntries` entries (answers and remembered failures together); the oldest is evicted first;
 * - concurrent identical lookups share one in-flight request.
 *
 * Permissions: the User Management organization membership carries role slugs only (`role`, `roles`);
 * permissions live on the roles. So `membership` also reads the organization's role catalog
 * (`authorization.listOrganizationRoles`, GET /authorization/organizations/:id/roles, cached per
 * organization like any answer) and answers the union of the permissions of the caller's roles.
 * Callers that need roles only pass `{ permissions: false }` and the catalog is never fetched. A
 * failed catalog fails the membership ('unavailable'), except for a caller with no roles, who has
 * no permissions whatever the catalog says.
 *
 * The API key is never logged: failure lines name the operation and the error class/status only,
 * and any occurrence of the key in them is redacted anyway.
 */

const DEFAULT_TTL_MS = 60_000;
export const MAX_TTL_MS = 300_000;
const DEFAULT_TIMEOUT_MS = 3_000;
const DEFAULT_MAX_ENTRIES = 1_000;
const DEFAULT_FAILURE_TTL_MS = 2_000;
/** Page size for list calls (the API's maximum). */
const PAGE_SIZE = 100;
/** Member lists stop after this many pages (1,000 members); larger organizations are truncated. */
const MAX_PAGES = 10;

// What we read from the SDK's deserialized (camelCase) objects; anything else is ignored.
const RoleSchema = z.object({ slug: z.string().min(1) });

const OrganizationMembershipSchema = z.object({
  userId: z.string().min(1),
  organizationId: z.string().min(1),
  status: z.string(),
  role: RoleSchema.optional(),
  roles: z.array(RoleSchema).optional(),
});
export type OrganizationMembershipRecord = z.infer<typeof OrganizationMembershipSchema>;

const ListMetadataSchema = z.object({
  before: z.string().nullish(),
  after: z.string().nullish(),
});

const membershipPage = z.object({ data: z.array(OrganizationMembershipSchema), listMetadata: ListMetadataSchema });

const UserProfileSchema = z
  .object({
    id: z.string().min(1),
    email: z.string(),
    emailVerified: z.boolean().optional(),
    firstName: z.string().nullish(),
    lastName: z.string().nullish(),
    name: z.string().nullish(),
  })
  .transform((u) => ({
    id: u.id,
    email: u.email,
    emailVerified: u.emailVerified ?? false,
    firstName: u.firstName ?? null,
    lastName: u.lastName ?? null,
    name: u.name ?? ([u.firstName, u.lastName].filter(Boolean).join(' ') || null),
  }));
export type UserProfile = z.output<typeof UserProfileSchema>;

const userPage = z.object({ data: z.array(UserProfileSchema), listMetadata: ListMetadataSchema });

const OrganizationMemberSchema = z.object({
  userId: z.string(),
  /** Role slugs, the primary role first. */
  roles: z.array(z.string()),
  email: z.string().nullable(),
  name: z.string().nullable(),
});
export type OrganizationMember = z.infer<typeof OrganizationMemberSchema>;

export type MembershipOptions = {
  /** Derive permissions from the role catalog (one more request, cached per organization). Default true; false answers `permissions: []`. */
  permissions?: boolean;
};

export type DirectoryLookup = {
  /**
   * The caller's roles in the organization and the permissions those roles grant; no active
   * membership is `{ roles: [], permissions: [] }`.
   */
  membership(userId: string, organizationId: string, options?: MembershipOptions): Promise<Membership | 'unavailable'>;
  user(userId: string): Promise<UserProfile | 'unavailable'>;
  /** Active members of the organization with their roles (and email/name), sorted by user id. */
  members(organizationId: string): Promise<OrganizationMember[] | 'unavailable'>;
  /** How many requests actually went to the API (each page counts), for tests that prove caching. */
  requestCount(): number;
};

export type DirectoryLookupOptions = {
  /** How long answers are kept. Default 60 000; values above 300 000 are lowered to it. */
  ttlMs?: number;
  /** Deadline per API request (a member list of several pages makes several). Default 3 000. */
  timeoutMs?: number;
  /** Cache bound (answers and remembered failures). Default 1 000. */
  maxEntries?: number;
  /** How long a failure is remembered before the API is asked again. Default 2 000; 0 disables. */
  failureTtlMs?: number;
  /** Clock for expiry; tests inject one. */
  now?: () => number;
  /** Receives one line per failed API request; never the key. Default console.warn. */
  log?: (line: string) => void;
};

class LookupTimeout extends Error {
  override name = 'LookupTimeout';
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`identity lookup: ${name} must be a non-negative number`);
  return value;
}

/** apiHostname/https/port for the SDK from WORKOS_API_URL (https, or http for loopback hosts only). */
function apiEndpoint(apiUrl: string | undefined): { apiHostname: string; https: boolean; port?: number } {
  if (!apiUrl) return { apiHostname: 'api.workos.com', https: true };
  const url = parseSecureUrl('WORKOS_API_URL', apiUrl, 'https://api.workos.com');
  return {
    apiHostname: url.hostname,
    https: url.protocol === 'https:',
    ...(url.port ? { port: Number(url.port) } : {}),
  };
}

/** Role slugs of the matching active memberships, primary role first, without duplicates. */
function rolesOf(records: readonly OrganizationMembershipRecord[]): string[] {
  const roles = records.flatMap((m) => [...(m.role ? [m.role.slug] : []), ...(m.roles ?? []).map((r) => r.slug)]);
  return [...new Set(roles)];
}

function describeError(error: unknown): string {
  if (error instanceof LookupTimeout) return 'timed out';
  if (error instanceof z.ZodError) return 'unexpected response shape';
  if (error instanceof Error) {
    const status = 'status' in error && typeof error.status === 'number' ? ` (status ${error.status})` : '';
    // Network failures arrive wrapped ("Unexpected error: TypeError: fetch failed"); name the root cause's code only.
    let cause: unknown = error.cause;
    while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
    const code = cause instanceof Error && 'code' in cause && typeof cause.code === 'string' ? ` (${cause.code})` : '';
    return `${error.name}${status}${code}`;
  }
  return 'unknown error';
}

type Entry = { value: unknown; expiresAt: number };

/**
 * @returns undefined when WorkOS is not configured (`workos` undefined or without an API key).
 * @throws ConfigError when `workos.apiUrl` is not https (or http on a loopback host).
 */
export function createDirectoryLookup(
  workos: Config['workos'],
  options: DirectoryLookupOptions = {},
): DirectoryLookup | undefined {
  if (!workos?.apiKey) return undefined;
  const ttlMs = Math.min(nonNegative('ttlMs', options.ttlMs, DEFAULT_TTL_MS), MAX_TTL_MS);
  const timeoutMs = nonNegative('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS);
  const maxEntries = Math.max(1, Math.floor(nonNegative('maxEntries', options.maxEntries, DEFAULT_MAX_ENTRIES)));
  const failureTtlMs = Math.min(nonNegative('failureTtlMs', options.failureTtlMs, DEFAULT_FAILURE_TTL_MS), ttlMs);
  const now = options.now ?? Date.now;
  const apiKey = workos.apiKey;
  const log = options.log ?? ((line: string) => console.warn(line));

  const client = new WorkOS({
    apiKey,
    clientId: workos.clientId,
    ...apiEndpoint(workos.apiUrl),
    // Our own deadline below decides; these make the SDK abort its fetch too (the Node entry reads
    // `timeout`, the edge-light/workerd entry only `config.timeout`). No SDK retries: a failure is
    // answered at once and remembered briefly instead of being retried with multi-second backoff.
    timeout: timeoutMs,
    config: { timeout: timeoutMs } as RequestInit,
    maxRetries: 0,
  });

  const cache = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<unknown>>();
  let requests = 0;

  function remember(key: string, value: unknown, forMs: number): void {
    if (forMs <= 0) return;
    cache.delete(key);
    cache.set(key, { value, expiresAt: now() + forMs });
    evictOldest(cache, maxEntries);
  }

  /** One API request with the deadline; counts toward requestCount. */
  async function request<T>(call: () => Promise<T>): Promise<T> {
    requests += 1;
    return withDeadline(call(), timeoutMs, () => new LookupTimeout());
  }

  async function cached<T>(key: string, operation: string, load: () => Promise<T>): Promise<T | 'unavailable'> {
    const hit = cache.get(key);
    if (hit) {
      if (hit.expiresAt > now()) return hit.value as T | 'unavailable';
      cache.delete(key);
    }
    const pending = inFlight.get(key);
    if (pending) return pending as Promise<T | 'unavailable'>;
    const promise = load().then(
      (value) => {
        inFlight.delete(key);
        // Shared by every caller in the isolate (handlers included): nobody may change it.
        remember(key, deepFreeze(value), ttlMs);
        return value;
      },
      (error: unknown) => {
        inFlight.delete(key);
        log(`[identity] ${operation} lookup failed: ${describeError(error)}`.replaceAll(apiKey, '[redacted]'));
        remember(key, 'unavailable', failureTtlMs);
        return 'unavailable' as const;
      },
    );
    inFlight.set(key, promise);
    return promise;
  }

  async function allMemberships(organizationId: string): Promise<OrganizationMembershipRecord[]> {
    const records: OrganizationMembershipRecord[] = [];
    let after: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const list = await request(() =>
        client.userManagement.listOrganizationMemberships({
          organizationId,
          statuses: ['active'],
          limit: PAGE_SIZE,
          after,
        }),
      );
      const parsed = membershipPage.parse({ data: list.data, listMetadata: list.listMetadata });
      records.push(...parsed.data);
      after = parsed.listMetadata.after ?? undefined;
      if (!after) break;
    }
    return records.filter((m) => m.organizationId === organizationId && m.status === 'active');
  }

  async function allUsers(organizationId: string): Promise<UserProfile[]> {
    const users: UserProfile[] = [];
    let after: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const list = await request(() => client.userManagement.listUsers({ organizationId, limit: PAGE_SIZE, after }));
      const parsed = userPage.parse({ data: list.data, listMetadata: list.listMetadata });
      users.push(...parsed.data);
      after = parsed.listMetadata.after ?? undefined;
      if (!after) break;
    }
    return users;
  }

  const rolesIn = (userId: string, organizationId: string) =>
    cached(JSON.stringify(['membership', userId, organizationId]), 'membership', async (): Promise<string[]> => {
      const list = await request(() =>
        client.userManagement.listOrganizationMemberships({
          userId,
          organizationId,
          statuses: ['active'],
          limit: PAGE_SIZE,
        }),
      );
      const parsed = membershipPage.parse({ data: list.data, listMetadata: list.listMetadata });
      // Filter again: an answer about someone else must never grant anything.
      const mine = parsed.data.filter(
        (m) => m.userId === userId && m.organizationId === organizationId && m.status === 'active',
      );
      return rolesOf(mine);
    });

  // Not paginated: the API answers every role of the organization in one list.
  const roleCatalog = (organizationId: string) =>
    cached(JSON.stringify(['roles', organizationId]), 'role catalog', async (): Promise<CatalogRole[]> => {
      const list = await request(() => client.authorization.listOrganizationRoles(organizationId));
      return RoleCatalogSchema.parse({ data: list.data }).data;
    });

  // Frozen like the cached lists it is made of: handlers receive it and must not change it.
  const answerFor = (roles: readonly string[], catalog: readonly CatalogRole[] | undefined): Membership =>
    deepFreeze({ roles, permissions: catalog ? permissionsOf(roles, catalog) : [] });

  const membersOf = (organizationId: string) =>
    cached(JSON.stringify(['members', organizationId]), 'members', async (): Promise<OrganizationMember[]> => {
      const memberships = await allMemberships(organizationId);
      const profiles = new Map((await allUsers(organizationId)).map((u) => [u.id, u]));
      const byUser = new Map<string, OrganizationMembershipRecord[]>();
      for (const m of memberships) byUser.set(m.userId, [...(byUser.get(m.userId) ?? []), m]);
      return [...byUser]
        .map(([userId, records]) => ({
          userId,
          roles: rolesOf(records),
          email: profiles.get(userId)?.email ?? null,
          name: profiles.get(userId)?.name ?? null,
        }))
        .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    });

  return {
    membership: async (userId, organizationId, { permissions = true } = {}) => {
      // Both at once: on a cold cache the caller waits for one round trip, not two.
      const [roles, catalog] = await Promise.all([
        rolesIn(userId, organizationId),
        permissions ? roleCatalog(organizationId) : undefined,
      ]);
      if (roles === 'unavailable') return 'unavailable';
      if (!catalog || roles.length === 0) return answerFor(roles, undefined);
      if (catalog === 'unavailable') return 'unavailable';
      return answerFor(roles, catalog);
    },

    user: (userId) =>
      cached(JSON.stringify(['user', userId]), 'user', async () =>
        UserProfileSchema.parse(await request(() => client.userManagement.getUser(userId))),
      ),

    // Never asked without an organization, which would leave the membership list unfiltered. The
    // policies that reach this require one (the wrapper checks); a direct call without one gets nothing.
    members: (organizationId) => (organizationId ? membersOf(organizationId) : Promise.resolve('unavailable')),

    requestCount: () => requests,
  };
}
