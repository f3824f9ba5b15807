import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDirectoryLookup, type DirectoryLookup } from '@/lib/directory/workos';
import { permissionsNeeded, resolveMembership } from '@/lib/endpoint/membership';
import { parseEnvelope } from '@/lib/wire/envelope';
import type { UserPrincipal } from '@/lib/auth/principal';
import { createRegistry, defineTool, jsonResult } from '@/lib/registry';
import { createWorkosApiHandler, LOCAL_WORKOS_API_KEY } from '@/scripts/local-auth/workos-api';
import { MCP_HEADERS, readRpc } from '../helpers/app';
import { useEndpoint } from '../helpers/endpoint';
import { listen, type Listening } from '../helpers/net';

/**
 * Permission policies decided from WorkOS lookups, through the endpoint composition in-process
 * (lib/endpoint/endpoint.ts -> endpoint/membership.ts -> policy.ts) with the real @workos-inc/node client against the
 * local directory on 127.0.0.1: permissions are the union of the caller's roles' permissions in the
 * organization's role catalog. And roles/permissions carried by the token win over any lookup.
 * Seeded: alice is admin of org_acme (members:read among others), bob is member (no members:read).
 */
const ran: string[] = [];
const tool = (name: string, access: { roles: string[] } | { permissions: string[] } | 'public') =>
  defineTool({
    name,
    title: name,
    description: name,
    access,
    input: z.object({}),
    handler: () => (ran.push(name), jsonResult({ ok: true })),
  });
const registry = createRegistry([
  tool('open', 'public'),
  tool('members_export', { permissions: ['members:read'] }),
  tool('admin_panel', { roles: ['admin'] }),
]);

let directory: Listening;
let lookup: DirectoryLookup;
let catalogDown = false;
let t = 1_000_000;
const RESOURCE = 'http://127.0.0.1:1/mcp';
const api = createWorkosApiHandler({ failing: (path) => catalogDown && path.startsWith('/authorization/') });

beforeAll(async () => {
  directory = await listen((req, res) => {
    if (!api(req, res)) res.writeHead(404).end();
  });
});
afterAll(async () => {
  await directory?.close();
});
const endpoint = useEndpoint(
  registry,
  () => ({
    MCP_RESOURCE_URL: RESOURCE,
    WORKOS_API_KEY: LOCAL_WORKOS_API_KEY,
    WORKOS_API_URL: directory.url,
  }),
  { directory: () => lookup },
);
const records = endpoint.records;
// A fresh cache and clock per test, so every test counts its own requests.
beforeEach(() => {
  ran.length = 0;
  records.length = 0;
  const created = createDirectoryLookup(endpoint.config.workos, { now: () => t, log: () => {} });
  if (!created) throw new Error('expected a lookup');
  lookup = created;
});
afterEach(() => {
  catalogDown = false;
});

const call = (name: string) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } });
const LIST = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
const envelopeOf = (message: unknown) => parseEnvelope(message, '2025-11-25');
const token = (sub: string, extra: Record<string, unknown> = {}) =>
  endpoint.issuer.sign({ aud: RESOURCE, sub, org_id: 'org_acme', client_id: 'c', scope: 'openid', ...extra });
const send = (body: unknown, bearer: string) =>
  fetch(`${endpoint.server.url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, authorization: `Bearer ${bearer}` },
    body: JSON.stringify(body),
  });
const listNames = async (bearer: string) =>
  ((await readRpc(await send(LIST, bearer))).result as { tools: Array<{ name: string }> }).tools.map((x) => x.name);

/** The caller's answer for a tool, with its name blanked, to compare with an unknown tool's. */
async function refusalShape(name: string, bearer: string): Promise<string> {
  return JSON.stringify(await readRpc(await send(call(name), bearer))).replaceAll(name, 'X');
}

describe('a permission policy decided from the role catalog', () => {
  it('allows an admin (members:read from the admin role), listed and run', async () => {
    const alice = await token('user_alice');
    const response = await send(call('members_export'), alice);
    expect(response.status).toBe(200);
    expect(await readRpc(response)).toMatchObject({ result: { structuredContent: { ok: true } } });
    expect(ran).toEqual(['members_export']);
    expect(lookup.requestCount()).toBe(2); // alice's membership and org_acme's role catalog
    expect(await listNames(alice)).toContain('members_export');
  });

  it('refuses a member: hidden, answered like an unknown tool, audited, nothing runs', async () => {
    const bob = await token('user_bob');
    expect(await listNames(bob)).not.toContain('members_export');
    expect(await refusalShape('members_export', bob)).toBe(await refusalShape('no_such_tool', bob));
    expect(ran).toEqual([]);
    expect(records).toContainEqual(
      expect.objectContaining({
        tool: 'members_export',
        sub: 'user_bob',
        decision: 'deny',
        reason: 'permission_required',
        outcome: 'not_run',
      }),
    );
  });

  it('fails closed with 503 while the role catalog is down; public tools still answer', async () => {
    catalogDown = true;
    const alice = await token('user_alice');
    const refused = await send(call('members_export'), alice);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('10');
    expect(await refused.json()).toMatchObject({ error: { data: { reason: 'unavailable' } } });
    expect((await send(call('open'), alice)).status).toBe(200);
    expect(ran).toEqual(['open']);
  });

  it('a second call within the TTL makes no request', async () => {
    const alice = await token('user_alice');
    expect((await send(call('members_export'), alice)).status).toBe(200);
    const [ours, served] = [lookup.requestCount(), api.requestCount()];
    expect(ours).toBe(2);

    t += 59_000; // default TTL 60 s
    expect((await send(call('members_export'), alice)).status).toBe(200);
    expect(await listNames(alice)).toContain('members_export');
    expect(lookup.requestCount()).toBe(ours);
    expect(api.requestCount()).toBe(served);
    expect(ran).toEqual(['members_export', 'members_export']);
  });
});

describe('roles and permissions in the token win over a lookup', () => {
  it('token says admin, the directory says member: allowed with no lookup request', async () => {
    const served = api.requestCount();
    const bobAsAdmin = await token('user_bob', { roles: ['admin'], permissions: ['members:read'] });
    expect((await send(call('admin_panel'), bobAsAdmin)).status).toBe(200);
    expect((await send(call('members_export'), bobAsAdmin)).status).toBe(200);
    expect(await listNames(bobAsAdmin)).toEqual(['open', 'members_export', 'admin_panel']);
    expect(ran).toEqual(['admin_panel', 'members_export']);
    expect(lookup.requestCount()).toBe(0);
    expect(api.requestCount()).toBe(served);
  });

  it('token says member, the directory would say admin: refused with no lookup request', async () => {
    const served = api.requestCount();
    const aliceAsMember = await token('user_alice', { role: 'member', permissions: ['notes:read'] });
    expect(await refusalShape('admin_panel', aliceAsMember)).toBe(await refusalShape('no_such_tool', aliceAsMember));
    expect(await refusalShape('members_export', aliceAsMember)).toBe(await refusalShape('no_such_tool', aliceAsMember));
    expect(await listNames(aliceAsMember)).toEqual(['open']);
    expect(ran).toEqual([]);
    expect(records).toContainEqual(
      expect.objectContaining({ tool: 'admin_panel', decision: 'deny', reason: 'role_required' }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({ tool: 'members_export', decision: 'deny', reason: 'permission_required' }),
    );
    expect(lookup.requestCount()).toBe(0);
    expect(api.requestCount()).toBe(served);
  });

  it('an empty permissions claim is the token speaking too: refused, not looked up', async () => {
    const alice = await token('user_alice', { permissions: [] });
    expect(await refusalShape('members_export', alice)).toBe(await refusalShape('no_such_tool', alice));
    expect(lookup.requestCount()).toBe(0);
  });

  it('token permissions alone: roles are still looked up, the role catalog is not', async () => {
    catalogDown = true; // would fail the request if the catalog were read
    const alice = await token('user_alice', { permissions: ['members:read'] });
    expect((await send(call('admin_panel'), alice)).status).toBe(200);
    expect(lookup.requestCount()).toBe(1);
  });
});

describe('reading the role catalog only when needed', () => {
  const now = Math.floor(Date.now() / 1000);
  const alice: UserPrincipal = {
    kind: 'user',
    callerKind: 'user',
    actors: [],
    subject: 'user_alice',
    organizationId: 'org_acme',
    scopes: [],
    issuedAt: now,
    expiresAt: now + 300,
  };

  it('permissionsNeeded: tools/list or a call to a permission tool, unless the token carries permissions', () => {
    expect(permissionsNeeded(envelopeOf(LIST), registry, alice)).toBe(true);
    expect(permissionsNeeded(envelopeOf(call('members_export')), registry, alice)).toBe(true);
    expect(permissionsNeeded(envelopeOf(call('admin_panel')), registry, alice)).toBe(false);
    expect(permissionsNeeded(envelopeOf(call('open')), registry, alice)).toBe(false);
    expect(permissionsNeeded(envelopeOf(LIST), registry, { ...alice, permissions: [] })).toBe(false);
  });

  it('resolveMembership skips the catalog when told only roles decide', async () => {
    catalogDown = true;
    expect(await resolveMembership(alice, lookup, { permissions: false })).toEqual({
      roles: ['admin'],
      permissions: [],
    });
    expect(lookup.requestCount()).toBe(1);
    expect(await resolveMembership(alice, lookup)).toBe('unavailable');
  });
});

describe('a tools/list follows the directory answer, request after request', () => {
  it('shows and hides role and permission tools as the same token is answered differently', async () => {
    const admin = Object.freeze({ roles: Object.freeze(['admin']), permissions: Object.freeze(['members:read']) });
    const member = Object.freeze({ roles: Object.freeze(['member']), permissions: Object.freeze([]) });
    let answer: typeof admin | typeof member | 'unavailable' = admin;
    const real = lookup;
    // The same token each time, so the verifier hands the endpoint the same principal object.
    lookup = { ...real, membership: async () => answer };
    const alice = await token('user_alice');
    const shown = async () => (await listNames(alice)).filter((n) => n !== 'open');
    expect(await shown()).toEqual(['members_export', 'admin_panel']);
    expect(await shown()).toEqual(['members_export', 'admin_panel']);
    answer = member;
    expect(await shown()).toEqual([]);
    answer = 'unavailable';
    expect(await listNames(alice)).toEqual(['open']);
    answer = admin;
    expect(await shown()).toEqual(['members_export', 'admin_panel']);
  });
});
