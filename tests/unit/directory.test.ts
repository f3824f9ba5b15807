// Identity lookups (roles, permissions, profiles, organization members) through
// the real @workos-inc/node client against the local authorization server's
// WorkOS User Management and Authorization endpoints, on 127.0.0.1 with random ports.
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { EdgeVM } from '@edge-runtime/vm';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { UserPrincipal } from '@/lib/auth/principal';
import { createDirectoryLookup, type DirectoryLookupOptions } from '@/lib/directory/workos';
import { permissionsOf } from '@/lib/directory/role-catalog';
import { ConfigError } from '@/lib/config';
import { createRegistry, type HandlerContext, type ToolDefinition } from '@/lib/registry';
import * as seeded from '@/scripts/local-auth/directory';
import type { LocalAuthServer } from '@/scripts/local-auth/server';
import { createWorkosApiHandler, LOCAL_WORKOS_API_KEY, type WorkosApiHandler } from '@/scripts/local-auth/workos-api';
import orgMembers, { DIRECTORY_UNAVAILABLE, LOOKUPS_NOT_CONFIGURED } from '@/tools/org_members';
import { forbidNodeBuiltins, PROJECT_ROOT } from '../helpers/edge';
import { listen, type Listening } from '../helpers/net';
import { makeTempDir, startTestServer } from '../local-auth/helpers';

let server: LocalAuthServer;
let api: WorkosApiHandler;
let apiUrl: string;
let down = false;
/** Only the role catalog (GET /authorization/...) is down. */
let catalogDown = false;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const tmp = await makeTempDir();
  cleanup = tmp.remove;
  api = createWorkosApiHandler({ failing: (path) => down || (catalogDown && path.startsWith('/authorization/')) });
  server = await startTestServer(join(tmp.dir, 'keys.json'), { workosApi: api });
  apiUrl = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server?.close();
  await cleanup?.();
});
afterEach(() => {
  down = false;
  catalogDown = false;
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

// The seeded roles' permissions (scripts/local-auth/directory.ts).
const ADMIN_PERMISSIONS = ['members:read', 'notes:read', 'notes:write', 'notes:delete'];
const MEMBER_PERMISSIONS = ['notes:read', 'notes:write'];
const ADMIN = { roles: ['admin'], permissions: ADMIN_PERMISSIONS };
const MEMBER = { roles: ['member'], permissions: MEMBER_PERMISSIONS };
const NO_ROLES = { roles: [], permissions: [] };
/** Role lookups only: the role catalog is not read, so request counts are one per membership. */
const ROLES_ONLY = { permissions: false } as const;

/** A clock tests move by hand. */
function clock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

function lookupFor(options: DirectoryLookupOptions & { apiKey?: string; url?: string } = {}) {
  const lines: string[] = [];
  const { apiKey = LOCAL_WORKOS_API_KEY, url = apiUrl, ...rest } = options;
  const lookup = createDirectoryLookup({ apiKey, apiUrl: url }, { log: (line) => lines.push(line), ...rest });
  if (!lookup) throw new Error('expected a lookup');
  return { lookup, lines };
}

function user(organizationId: string | undefined, subject: string): UserPrincipal {
  const now = Math.floor(Date.now() / 1000);
  return {
    kind: 'user',
    callerKind: 'user',
    actors: [],
    subject,
    organizationId,
    scopes: [],
    issuedAt: now,
    expiresAt: now + 300,
  };
}

const call = (
  // biome-ignore lint/suspicious/noExplicitAny: the helper calls tools of any input shape with {}
  tool: ToolDefinition<any>,
  principal: UserPrincipal,
  context: Omit<HandlerContext, 'principal'> = {},
): Promise<CallToolResult> => Promise.resolve(tool.handler(tool.input.parse({}), { ...context, principal }));
const text = (result: CallToolResult) => (result.content[0] as { text: string }).text;

describe('createDirectoryLookup', () => {
  it('is undefined when WorkOS is not configured', () => {
    expect(createDirectoryLookup(undefined)).toBeUndefined();
    expect(createDirectoryLookup({ apiKey: LOCAL_WORKOS_API_KEY, apiUrl })).toBeDefined();
  });

  it('refuses a plain-http API URL that is not loopback', () => {
    expect(() => createDirectoryLookup({ apiKey: 'k', apiUrl: 'http://api.example.com' })).toThrow(ConfigError);
    expect(() => createDirectoryLookup({ apiKey: 'k', apiUrl: 'not a url' })).toThrow(ConfigError);
    expect(createDirectoryLookup({ apiKey: 'k', apiUrl: 'https://api.example.com:8443' })).toBeDefined();
  });
});

describe('membership', () => {
  it('reads role slugs from the organization membership (bob member, alice admin of org_acme)', async () => {
    const { lookup } = lookupFor();
    expect(await lookup.membership('user_bob', 'org_acme', ROLES_ONLY)).toEqual({ roles: ['member'], permissions: [] });
    expect(await lookup.membership('user_alice', 'org_acme', ROLES_ONLY)).toEqual({
      roles: ['admin'],
      permissions: [],
    });
    expect(await lookup.membership('user_carol', 'org_globex', ROLES_ONLY)).toEqual({
      roles: ['admin'],
      permissions: [],
    });
    expect(lookup.requestCount()).toBe(3);
  });

  it('answers no roles (not unavailable) for a user without a membership, and caches that answer', async () => {
    const { lookup } = lookupFor();
    expect(await lookup.membership('user_carol', 'org_acme')).toEqual(NO_ROLES);
    const before = api.requestCount();
    expect(await lookup.membership('user_carol', 'org_acme')).toEqual(NO_ROLES);
    expect(api.requestCount()).toBe(before);
    expect(lookup.requestCount()).toBe(2); // the membership and, in parallel, org_acme's role catalog
  });

  it('serves a repeated lookup from the cache within the TTL and asks again after it', async () => {
    const time = clock();
    const { lookup } = lookupFor({ ttlMs: 60_000, now: time.now });
    expect(await lookup.membership('user_bob', 'org_acme', ROLES_ONLY)).toEqual({ roles: ['member'], permissions: [] });
    const served = api.requestCount();
    expect(lookup.requestCount()).toBe(1);

    time.advance(59_999);
    expect(await lookup.membership('user_bob', 'org_acme', ROLES_ONLY)).toEqual({ roles: ['member'], permissions: [] });
    expect(lookup.requestCount()).toBe(1);
    expect(api.requestCount()).toBe(served);

    time.advance(1);
    expect(await lookup.membership('user_bob', 'org_acme', ROLES_ONLY)).toEqual({ roles: ['member'], permissions: [] });
    expect(lookup.requestCount()).toBe(2);
    expect(api.requestCount()).toBe(served + 1);
  });

  it('keys the cache by user and organization', async () => {
    const { lookup } = lookupFor();
    expect(await lookup.membership('user_alice', 'org_acme', ROLES_ONLY)).toEqual({
      roles: ['admin'],
      permissions: [],
    });
    expect(await lookup.membership('user_alice', 'org_globex', ROLES_ONLY)).toEqual(NO_ROLES);
    expect(await lookup.membership('user_bob', 'org_acme', ROLES_ONLY)).toEqual({ roles: ['member'], permissions: [] });
    expect(lookup.requestCount()).toBe(3);
  });

  it('caps the TTL at 300 s', async () => {
    const time = clock();
    const { lookup } = lookupFor({ ttlMs: 3_600_000, now: time.now });
    await lookup.membership('user_bob', 'org_acme');
    time.advance(299_999);
    await lookup.membership('user_bob', 'org_acme');
    expect(lookup.requestCount()).toBe(2); // membership + role catalog
    time.advance(1);
    await lookup.membership('user_bob', 'org_acme');
    expect(lookup.requestCount()).toBe(4);
  });

  it('shares one request between concurrent identical lookups', async () => {
    const { lookup } = lookupFor();
    const before = api.requestCount();
    const answers = await Promise.all(Array.from({ length: 5 }, () => lookup.membership('user_alice', 'org_acme')));
    expect(answers).toEqual(Array(5).fill(ADMIN));
    expect(lookup.requestCount()).toBe(2); // one membership, one role catalog
    expect(api.requestCount()).toBe(before + 2);
  });

  it('evicts the oldest entry beyond maxEntries', async () => {
    const { lookup } = lookupFor({ maxEntries: 2 });
    await lookup.membership('user_alice', 'org_acme', ROLES_ONLY);
    await lookup.membership('user_bob', 'org_acme', ROLES_ONLY);
    await lookup.membership('user_carol', 'org_globex', ROLES_ONLY); // evicts alice
    expect(lookup.requestCount()).toBe(3);
    await lookup.membership('user_carol', 'org_globex', ROLES_ONLY);
    await lookup.membership('user_bob', 'org_acme', ROLES_ONLY);
    expect(lookup.requestCount()).toBe(3);
    await lookup.membership('user_alice', 'org_acme', ROLES_ONLY);
    expect(lookup.requestCount()).toBe(4);
  });

  it('counts role catalogs toward maxEntries', async () => {
    const { lookup } = lookupFor({ maxEntries: 2 });
    await lookup.membership('user_alice', 'org_acme'); // membership + org_acme catalog: full
    await lookup.membership('user_carol', 'org_globex'); // evicts both
    expect(lookup.requestCount()).toBe(4);
    await lookup.membership('user_alice', 'org_acme');
    expect(lookup.requestCount()).toBe(6);
  });
});

describe('failures answer unavailable', () => {
  it('during an outage, remembers the failure briefly, then recovers', async () => {
    const time = clock();
    const { lookup, lines } = lookupFor({ now: time.now, failureTtlMs: 2_000 });
    down = true;
    expect(await lookup.membership('user_bob', 'org_acme', ROLES_ONLY)).toBe('unavailable');
    expect(lookup.requestCount()).toBe(1);
    expect(lines.join('\n')).toMatch(/membership lookup failed/);

    // Within the failure window the API is not asked again.
    time.advance(1_999);
    expect(await lookup.membership('user_bob', 'org_acme', ROLES_ONLY)).toBe('unavailable');
    expect(lookup.requestCount()).toBe(1);

    down = false;
    time.advance(1);
    expect(await lookup.membership('user_bob', 'org_acme', ROLES_ONLY)).toEqual({ roles: ['member'], permissions: [] });
    expect(lookup.requestCount()).toBe(2);
  });

  it('does not remember failures at all with failureTtlMs 0', async () => {
    const { lookup } = lookupFor({ failureTtlMs: 0 });
    down = true;
    expect(await lookup.membership('user_alice', 'org_acme')).toBe('unavailable');
    down = false;
    expect(await lookup.membership('user_alice', 'org_acme')).toEqual(ADMIN);
    expect(lookup.requestCount()).toBe(4); // membership + catalog, twice
  });

  it('keeps serving answers cached before an outage', async () => {
    const { lookup } = lookupFor();
    expect(await lookup.membership('user_alice', 'org_acme')).toEqual(ADMIN);
    down = true;
    expect(await lookup.membership('user_alice', 'org_acme')).toEqual(ADMIN);
    expect(lookup.requestCount()).toBe(2);
  });

  it('gives up after timeoutMs on a server that never answers', async () => {
    let abandoned: Promise<void> | undefined;
    // Accepts and never responds; notes when the client gives the request up.
    const hung: Listening = await listen((req) => {
      abandoned = new Promise((resolve) => req.once('close', () => resolve()));
    });
    try {
      const { lookup, lines } = lookupFor({ url: hung.url, timeoutMs: 300 });
      const started = performance.now();
      expect(await lookup.membership('user_bob', 'org_acme', ROLES_ONLY)).toBe('unavailable');
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(1_500);
      expect(lines.join('\n')).toMatch(/timed out|408/);
      // The SDK's own fetch is aborted too, not left hanging on the socket.
      const closed = await Promise.race([
        abandoned?.then(() => true),
        new Promise((r) => setTimeout(() => r(false), 1_000)),
      ]);
      expect(closed).toBe(true);
    } finally {
      await hung.close();
    }
  });

  it('answers unavailable when nothing listens on the API port', async () => {
    const gone = await listen(() => {});
    await gone.close();
    const { lookup, lines } = lookupFor({ url: gone.url });
    expect(await lookup.membership('user_bob', 'org_acme')).toBe('unavailable');
    expect(lines.join('\n')).toMatch(/ECONNREFUSED/);
  });

  it('on a wrong API key (401) answers unavailable and never shows the key', async () => {
    const secret = 'wrong-key-7f3a9c1e5b';
    const consoleLines: string[] = [];
    for (const method of ['log', 'warn', 'error', 'info', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation(
        (...args: unknown[]) => void consoleLines.push(args.map(String).join(' ')),
      );
    }
    const before = api.requestCount();
    const { lookup, lines } = lookupFor({ apiKey: secret, failureTtlMs: 0 });
    expect(await lookup.membership('user_bob', 'org_acme')).toBe('unavailable');
    expect(await lookup.user('user_bob')).toBe('unavailable');
    expect(await lookup.members('org_acme')).toBe('unavailable');
    expect(api.requestCount()).toBe(before + 4); // it did reach the API (membership, catalog, user, members), which refused it
    expect(lines.join('\n')).toMatch(/UnauthorizedException/);
    expect([...lines, ...consoleLines].join('\n')).not.toContain(secret);

    // The right key works against the same server.
    expect(await lookupFor().lookup.membership('user_bob', 'org_acme')).toEqual(MEMBER);
  });

  it('redacts the key from a failure line even if an error were to carry it', async () => {
    // A key equal to the error class name is refused (401) and would otherwise appear in the line.
    const secret = 'UnauthorizedException';
    const { lookup, lines } = lookupFor({ apiKey: secret });
    expect(await lookup.user('user_alice')).toBe('unavailable');
    expect(lines.join('\n')).toMatch(/\[redacted\]/);
    expect(lines.join('\n')).not.toContain(secret);
  });
});

describe('permissions from the role catalog', () => {
  it('answers the union of the permissions of the caller roles: admins more than members', async () => {
    const { lookup } = lookupFor();
    const alice = await lookup.membership('user_alice', 'org_acme');
    const bob = await lookup.membership('user_bob', 'org_acme');
    expect(alice).toEqual(ADMIN);
    expect(bob).toEqual(MEMBER);
    expect(bob !== 'unavailable' && bob.permissions).not.toContain('members:read');
    expect(bob !== 'unavailable' && bob.permissions).not.toContain('notes:delete');
  });

  it('reads the catalog once per organization and TTL, shared by its users', async () => {
    const time = clock();
    const { lookup } = lookupFor({ ttlMs: 60_000, now: time.now });
    expect(await lookup.membership('user_alice', 'org_acme')).toEqual(ADMIN);
    expect(lookup.requestCount()).toBe(2);
    expect(await lookup.membership('user_bob', 'org_acme')).toEqual(MEMBER);
    expect(lookup.requestCount()).toBe(3); // bob's membership only: org_acme's catalog is cached
    expect(await lookup.membership('user_carol', 'org_globex')).toEqual(ADMIN);
    expect(lookup.requestCount()).toBe(5); // another organization, another catalog

    time.advance(59_999);
    const served = api.requestCount();
    expect(await lookup.membership('user_alice', 'org_acme')).toEqual(ADMIN);
    expect(lookup.requestCount()).toBe(5);
    expect(api.requestCount()).toBe(served);

    time.advance(1);
    expect(await lookup.membership('user_alice', 'org_acme')).toEqual(ADMIN);
    expect(lookup.requestCount()).toBe(7);
  });

  it('never reads the catalog for a roles-only lookup', async () => {
    const { lookup } = lookupFor();
    const before = api.requestCount();
    catalogDown = true; // would fail the lookup if it were read
    expect(await lookup.membership('user_alice', 'org_acme', ROLES_ONLY)).toEqual({
      roles: ['admin'],
      permissions: [],
    });
    expect(lookup.requestCount()).toBe(1);
    expect(api.requestCount()).toBe(before + 1);
  });

  it('fails closed during a catalog outage, remembers it briefly, then recovers', async () => {
    const time = clock();
    const { lookup, lines } = lookupFor({ now: time.now, failureTtlMs: 2_000 });
    catalogDown = true;
    expect(await lookup.membership('user_alice', 'org_acme')).toBe('unavailable');
    expect(lines).toEqual(['[identity] role catalog lookup failed: GenericServerException (status 503)']);
    // Roles alone are still known; only permissions depend on the catalog.
    expect(await lookup.membership('user_alice', 'org_acme', ROLES_ONLY)).toEqual({
      roles: ['admin'],
      permissions: [],
    });
    expect(lookup.requestCount()).toBe(2);

    time.advance(1_999);
    expect(await lookup.membership('user_bob', 'org_acme')).toBe('unavailable');
    expect(lookup.requestCount()).toBe(3); // bob's membership; the catalog failure is remembered

    catalogDown = false;
    time.advance(1);
    expect(await lookup.membership('user_alice', 'org_acme')).toEqual(ADMIN);
    expect(lookup.requestCount()).toBe(4);
  });

  it('answers no permissions for a caller without roles, whatever the catalog', async () => {
    const { lookup } = lookupFor();
    catalogDown = true;
    expect(await lookup.membership('user_carol', 'org_acme')).toEqual(NO_ROLES);
  });

  it('answers unavailable for a catalog of an unexpected shape', async () => {
    const odd = await listen((req, res) => {
      if (req.url?.startsWith('/authorization/')) {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ object: 'list', data: [{ slug: 'admin', permissions: 'all' }] }));
      } else if (!api(req, res)) res.writeHead(404).end();
    });
    try {
      const { lookup, lines } = lookupFor({ url: odd.url });
      expect(await lookup.membership('user_alice', 'org_acme')).toBe('unavailable');
      expect(lines).toEqual(['[identity] role catalog lookup failed: unexpected response shape']);
    } finally {
      await odd.close();
    }
  });

  it('grants nothing for a role the catalog does not know, and nothing twice', () => {
    const catalog = [
      { slug: 'admin', permissions: ['a', 'b'] },
      { slug: 'auditor', permissions: ['b', 'c'] },
    ];
    expect(permissionsOf(['auditor', 'admin'], catalog)).toEqual(['a', 'b', 'c']);
    expect(permissionsOf(['owner'], catalog)).toEqual([]);
    expect(permissionsOf([], catalog)).toEqual([]);
  });
});

describe('user and members', () => {
  it('reads a user profile, and unavailable for an unknown user', async () => {
    const { lookup } = lookupFor();
    expect(await lookup.user('user_alice')).toEqual({
      id: 'user_alice',
      email: 'alice@acme.test',
      emailVerified: true,
      firstName: 'Alice',
      lastName: 'Anderson',
      name: 'Alice Anderson',
    });
    const again = await lookup.user('user_alice');
    expect(lookup.requestCount()).toBe(1);
    // Cached answers are shared, so they are frozen.
    expect(Object.isFrozen(again)).toBe(true);
    const membership = await lookup.membership('user_alice', 'org_acme');
    expect(() => (membership as unknown as { roles: string[] }).roles.push('owner')).toThrow(TypeError);
    expect(() => (membership as unknown as { permissions: string[] }).permissions.push('notes:purge')).toThrow(
      TypeError,
    );
    expect(await lookup.user('user_nobody')).toBe('unavailable');
  });

  it('lists an organization with roles, email and name, and caches the list', async () => {
    const { lookup } = lookupFor();
    expect(await lookup.members('org_acme')).toEqual([
      { userId: 'user_alice', roles: ['admin'], email: 'alice@acme.test', name: 'Alice Anderson' },
      { userId: 'user_bob', roles: ['member'], email: 'bob@acme.test', name: 'Bob Baker' },
    ]);
    expect(await lookup.members('org_globex')).toEqual([
      { userId: 'user_carol', roles: ['admin'], email: 'carol@globex.test', name: 'Carol Chen' },
    ]);
    const count = lookup.requestCount();
    expect(count).toBe(4); // memberships + users, per organization
    await lookup.members('org_acme');
    expect(lookup.requestCount()).toBe(count);
  });

  it('follows pagination past one page of 100', async () => {
    const many = Array.from({ length: 150 }, (_, i) => ({
      id: `user_${String(i).padStart(3, '0')}`,
      handle: `u${i}`,
      email: `u${i}@big.test`,
      emailVerified: true,
      firstName: 'U',
      lastName: String(i),
    }));
    const big = createWorkosApiHandler({
      directory: {
        users: many,
        organizations: [{ id: 'org_big', name: 'Big' }],
        memberships: many.map((u, i) => ({
          id: `om_${i}`,
          userId: u.id,
          organizationId: 'org_big',
          role: { slug: i === 0 ? 'admin' : 'member' },
          status: 'active' as const,
        })),
        roles: seeded.roles,
      },
    });
    const bigServer = await listen((req, res) => {
      if (!big(req, res)) res.writeHead(404).end();
    });
    try {
      const { lookup } = lookupFor({ url: bigServer.url });
      const members = await lookup.members('org_big');
      expect(members).not.toBe('unavailable');
      if (members === 'unavailable') return;
      expect(members).toHaveLength(150);
      expect(new Set(members.map((m) => m.userId)).size).toBe(150);
      expect(members.find((m) => m.userId === 'user_000')).toEqual({
        userId: 'user_000',
        roles: ['admin'],
        email: 'u0@big.test',
        name: 'U 0',
      });
      expect(members.find((m) => m.userId === 'user_149')?.email).toBe('u149@big.test');
      expect(lookup.requestCount()).toBe(4); // two pages each
      expect(big.requestCount()).toBe(4);
    } finally {
      await bigServer.close();
    }
  });
});

describe('the local WorkOS API', () => {
  const get = (path: string, key: string | null = LOCAL_WORKOS_API_KEY) =>
    fetch(`${apiUrl}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });

  it('answers in the WorkOS list envelope with snake_case objects', async () => {
    const response = await get('/user_management/organization_memberships?organization_id=org_acme&order=asc');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = await response.json();
    expect(body).toMatchObject({
      object: 'list',
      list_metadata: { before: null, after: null },
      data: [
        {
          object: 'organization_membership',
          id: 'om_alice_acme',
          user_id: 'user_alice',
          organization_id: 'org_acme',
          status: 'active',
          role: { slug: 'admin' },
        },
        {
          object: 'organization_membership',
          id: 'om_bob_acme',
          user_id: 'user_bob',
          organization_id: 'org_acme',
          status: 'active',
          role: { slug: 'member' },
        },
      ],
    });
    expect(body.data[0].created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(body.data[0]).not.toHaveProperty('permissions');
  });

  it('serves an organization role catalog as authorization.listOrganizationRoles reads it', async () => {
    const response = await get('/authorization/organizations/org_acme/roles');
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toEqual({
      object: 'list',
      data: [
        expect.objectContaining({
          object: 'role',
          slug: 'admin',
          name: 'Admin',
          permissions: ADMIN_PERMISSIONS,
          type: 'EnvironmentRole',
        }),
        expect.objectContaining({
          object: 'role',
          slug: 'member',
          name: 'Member',
          permissions: MEMBER_PERMISSIONS,
          type: 'EnvironmentRole',
        }),
      ],
    });
    expect(body.data[0]).toMatchObject({
      id: expect.any(String),
      description: expect.any(String),
      resource_type_slug: 'organization',
    });
    expect(body.data[0].created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await get('/authorization/organizations/org_acme/roles', null)).status).toBe(401);
    expect((await get('/authorization/organizations/org_nowhere/roles')).status).toBe(404);
    expect((await get('/authorization/organizations/org_acme/permissions')).status).toBe(404);
  });

  it('requires the API key and a filter, and leaves other paths to oidc-provider', async () => {
    expect((await get('/user_management/users/user_alice', null)).status).toBe(401);
    expect((await get('/user_management/users/user_alice', 'nope')).status).toBe(401);
    expect((await get('/user_management/organization_memberships')).status).toBe(422);
    expect((await get('/user_management/users/user_nobody')).status).toBe(404);
    const user = await (await get('/user_management/users/user_bob')).json();
    expect(user).toMatchObject({
      object: 'user',
      id: 'user_bob',
      email: 'bob@acme.test',
      first_name: 'Bob',
      last_name: 'Baker',
    });
    const paged = await (
      await get('/user_management/organization_memberships?organization_id=org_acme&limit=1&order=asc')
    ).json();
    expect(paged.data.map((m: { id: string }) => m.id)).toEqual(['om_alice_acme']);
    expect(paged.list_metadata.after).toBe('om_alice_acme');
    // oidc-provider still serves its routes.
    expect(
      (await fetch(`${server.issuer.replace('localhost', '127.0.0.1')}/.well-known/openid-configuration`)).status,
    ).toBe(200);
  });
});

describe('org_members tool', () => {
  it('loads into a registry as an admin-only tool', () => {
    const registry = createRegistry([orgMembers]);
    expect(registry.get('org_members')?.access).toEqual({ roles: ['admin'] });
  });

  it('lists alice and bob with their roles for alice in org_acme', async () => {
    const { lookup } = lookupFor();
    const result = await call(orgMembers, user('org_acme', 'user_alice'), { directory: lookup });
    expect(result.isError, text(result)).toBeFalsy();
    expect(result.structuredContent).toEqual({
      organizationId: 'org_acme',
      members: [
        { userId: 'user_alice', role: 'admin', roles: ['admin'], email: 'alice@acme.test', name: 'Alice Anderson' },
        { userId: 'user_bob', role: 'member', roles: ['member'], email: 'bob@acme.test', name: 'Bob Baker' },
      ],
    });
    expect(JSON.parse(text(result))).toEqual(result.structuredContent);
  });

  it('makes one members and one users request for a small organization', async () => {
    const { lookup } = lookupFor();
    const result = await call(orgMembers, user('org_acme', 'user_alice'), { directory: lookup });
    expect(result.isError, text(result)).toBeFalsy();
    expect((result.structuredContent as { members: unknown[] }).members).toHaveLength(2);
    expect(lookup.requestCount()).toBe(2);
  });

  it('lists only the caller organization', async () => {
    const { lookup } = lookupFor();
    const result = await call(orgMembers, user('org_globex', 'user_carol'), { directory: lookup });
    expect((result.structuredContent as { members: { userId: string }[] }).members.map((m) => m.userId)).toEqual([
      'user_carol',
    ]);
  });

  it('says so when lookups are not configured', async () => {
    const result = await call(orgMembers, user('org_acme', 'user_alice'));
    expect(result.isError).toBe(true);
    expect(text(result)).toBe(LOOKUPS_NOT_CONFIGURED);
  });

  it('says so when the directory is unavailable', async () => {
    const { lookup } = lookupFor({ failureTtlMs: 0 });
    down = true;
    const result = await call(orgMembers, user('org_acme', 'user_alice'), { directory: lookup });
    expect(result.isError).toBe(true);
    expect(text(result)).toBe(DIRECTORY_UNAVAILABLE);
  });

  it('refuses a caller without an organization', async () => {
    const { lookup } = lookupFor();
    const result = await call(orgMembers, user(undefined, 'user_alice'), { directory: lookup });
    expect(result.isError).toBe(true);
    expect(lookup.requestCount()).toBe(0);
  });
});

describe('identity.ts on the Edge', () => {
  const root = PROJECT_ROOT;

  it('bundles with the edge-light entry of @workos-inc/node, reaches no Node built-in, and looks up inside @edge-runtime/vm', async () => {
    const reached: string[] = [];
    const forbid = forbidNodeBuiltins(reached);
    const result = await build({
      entryPoints: [`${root}/lib/directory/workos.ts`],
      bundle: true,
      write: false,
      metafile: true,
      format: 'iife',
      globalName: '__identity',
      platform: 'browser',
      conditions: ['edge-light', 'worker', 'browser'],
      target: 'es2022',
      tsconfig: `${root}/tsconfig.json`,
      define: { 'process.env.NODE_ENV': '"production"' },
      plugins: [forbid],
      logLevel: 'silent',
    });
    expect(reached).toEqual([]);
    const workosInputs = Object.keys(result.metafile.inputs).filter((p) => p.includes('@workos-inc/node'));
    expect(workosInputs.some((p) => p.endsWith('lib/index.worker.mjs'))).toBe(true);
    expect(workosInputs.some((p) => p.endsWith('lib/index.mjs'))).toBe(false);
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/\brequire\(["']node:/);

    const vm = new EdgeVM({
      extend: (context) => Object.assign(context, { process: { env: {} } }),
      initialCode: code,
    });
    expect(vm.evaluate('typeof require')).toBe('undefined');
    vm.context.__workos = { apiKey: LOCAL_WORKOS_API_KEY, apiUrl };
    // Reads the membership and the role catalog through the worker entry's fetch.
    const answer = await vm.evaluate(`__identity.createDirectoryLookup(__workos).membership('user_bob', 'org_acme')`);
    expect(JSON.parse(JSON.stringify(answer))).toEqual(MEMBER);
  }, 60_000);
});

// Keep the seeded directory and the API in step: every seeded membership and role is served.
describe('seeded directory', () => {
  it('is served in full', async () => {
    const { lookup } = lookupFor();
    for (const m of seeded.memberships) {
      const permissions = seeded.roles.find((r) => r.slug === m.role.slug)?.permissions;
      expect(await lookup.membership(m.userId, m.organizationId)).toEqual({ roles: [m.role.slug], permissions });
    }
  });

  it('gives admins more than members, named after the bundled tools', () => {
    expect(seeded.roles.map((r) => [r.slug, r.permissions])).toEqual([
      ['admin', ADMIN_PERMISSIONS],
      ['member', MEMBER_PERMISSIONS],
    ]);
  });
});
