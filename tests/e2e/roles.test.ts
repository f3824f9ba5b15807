import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../scripts/oauth-client/flow';
import { createWorkosApiHandler, LOCAL_WORKOS_API_KEY } from '../../scripts/local-auth/workos-api';
import { auditRecords, MCP_HEADERS, readRpc, rpc } from '../helpers/app';
import { startStack, type Stack } from '../helpers/stack';

/**
 * A role policy (org_members: role admin) decided from the caller's organization membership,
 * looked up by the real @workos-inc/node client against the local directory (WorkOS API shapes).
 */
let stack: Stack;
let down = false;
const workosApi = createWorkosApiHandler({ failing: () => down });

beforeAll(async () => {
  stack = await startStack({
    workosApi,
    env: (auth) => ({ WORKOS_API_KEY: LOCAL_WORKOS_API_KEY, WORKOS_API_URL: auth.issuer }),
  });
});
afterAll(async () => stack?.close());

async function tokenFor(user: string, org: string) {
  return (await mintToken({ issuer: stack.auth.issuer, user, org, resource: stack.resource })).accessToken;
}
async function post(token: string, body: string) {
  return fetch(`${stack.app.url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
    body,
  });
}
const listNames = async (token: string) =>
  ((await readRpc(await post(token, rpc('tools/list')))).result as { tools: Array<{ name: string }> }).tools.map(
    (t) => t.name,
  );

describe('role policy via WorkOS membership lookups', () => {
  it('admin is allowed, and a second request within the TTL makes no lookup', async () => {
    const alice = await tokenFor('alice', 'org_acme');
    expect(await listNames(alice)).toContain('org_members');
    const afterList = workosApi.requestCount();
    expect(afterList).toBeGreaterThan(0);

    const result = await readRpc(await post(alice, rpc('tools/call', { name: 'org_members', arguments: {} })));
    expect(result).toMatchObject({ result: { structuredContent: { organizationId: 'org_acme' } } });
    const members = (result.result as { structuredContent: { members: Array<{ userId: string; role: string }> } })
      .structuredContent.members;
    expect(members.map((m) => [m.userId, m.role])).toEqual([
      ['user_alice', 'admin'],
      ['user_bob', 'member'],
    ]);
    const afterCall = workosApi.requestCount(); // the members listing itself is a lookup; the membership is cached

    expect(await listNames(alice)).toContain('org_members');
    expect(workosApi.requestCount()).toBe(afterCall);
    expect(auditRecords(stack.app.output())).toContainEqual(
      expect.objectContaining({
        tool: 'org_members',
        policy: 'role: admin',
        sub: 'user_alice',
        org_id: 'org_acme',
        decision: 'allow',
        outcome: 'ok',
      }),
    );
  });

  it('a member is refused: the tool is hidden and answers like an unknown tool', async () => {
    const bob = await tokenFor('bob', 'org_acme');
    expect(await listNames(bob)).not.toContain('org_members');
    const hidden = await readRpc(await post(bob, rpc('tools/call', { name: 'org_members', arguments: {} })));
    const unknown = await readRpc(await post(bob, rpc('tools/call', { name: 'no_such_tool', arguments: {} })));
    expect(JSON.stringify(hidden).replaceAll('org_members', 'X')).toBe(
      JSON.stringify(unknown).replaceAll('no_such_tool', 'X'),
    );
    expect(auditRecords(stack.app.output())).toContainEqual(
      expect.objectContaining({
        tool: 'org_members',
        sub: 'user_bob',
        decision: 'deny',
        reason: 'role_required',
        outcome: 'not_run',
      }),
    );
  });

  it('a lookup outage fails closed with 503 for role tools only', async () => {
    const carol = await tokenFor('carol', 'org_globex'); // not looked up yet: nothing cached
    down = true;
    try {
      const refused = await post(carol, rpc('tools/call', { name: 'org_members', arguments: {} }));
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('10');
      const ping = await post(carol, rpc('tools/call', { name: 'ping', arguments: {} }));
      expect(ping.status).toBe(200);
    } finally {
      down = false;
    }
  });
});
