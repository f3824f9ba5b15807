import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry, defineTool, jsonResult } from '@/lib/registry';
import {
  DEFAULT_INTROSPECTION_CACHE_MS,
  DEV_INTROSPECTION_CLIENT_ID,
  DEV_INTROSPECTION_CLIENT_SECRET,
} from '@/lib/revocation/config';
import { createIntrospector } from '@/lib/revocation/introspection';
import { createUpstashStore } from '@/lib/shared-state/upstash';
import { mintToken } from '../../scripts/oauth-client/flow';
import { MCP_HEADERS, rpc } from '../helpers/app';
import { startFixtureStack, type FixtureStack } from '../helpers/fixture-stack';
import { startTestRedis, type TestRedis } from '../helpers/redis';

/**
 * The real local authorization server takes access back, as WorkOS would: removing a consent sends
 * no event, so only the primitive that declares `liveToken` (introspected at the issuer) stops, on
 * the first call after its short cache; the others follow the deny list, which the membership
 * removal (a signed `organization_membership.deleted`) then fills. A registry of this file's own.
 */
const registry = createRegistry([
  defineTool({
    name: 'purge',
    access: { scopes: ['files:write'] },
    liveToken: true,
    title: 'Purge',
    description: 'Must never outlive a consent.',
    input: z.object({}),
    handler: () => jsonResult({ purged: true }),
  }),
  defineTool({
    name: 'peek',
    access: { scopes: ['files:write'] },
    title: 'Peek',
    description: 'Follows the deny list.',
    input: z.object({}),
    handler: () => jsonResult({ peeked: true }),
  }),
]);

let redis: TestRedis;
let stack: FixtureStack;

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startFixtureStack({
    registry,
    revocation: {
      store: () => createUpstashStore(redis.url, redis.token),
      webhookSecret: 'whsec_live_token_test_secret_0123456789',
      env: {},
    },
    env: { MCP_REVOCATION_FRESHNESS_MS: '0' },
  });
});
afterAll(async () => {
  await stack?.close();
  await redis?.close();
});

let id = 0;
async function call(tool: string, token: string): Promise<number> {
  const response = await fetch(`${stack.server.url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
    body: rpc('tools/call', { name: tool, arguments: {} }, ++id),
    signal: AbortSignal.timeout(10_000),
  });
  await response.arrayBuffer();
  return response.status;
}

const revoke = async (user: string, consentOnly: boolean) => {
  const response = await fetch(`${stack.auth.issuer}/dev/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, consentOnly }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { consents: string[]; webhooks: Array<{ status: number }> };
};

describe('a consent removed at the authorization server', () => {
  it('stops a live-token primitive on the next call, while the others follow the deny list', async () => {
    const { accessToken } = await mintToken({
      issuer: stack.auth.issuer,
      user: 'alice',
      resource: stack.resource,
      scope: 'files:write',
    });
    expect(await call('purge', accessToken)).toBe(200);
    expect(await call('peek', accessToken)).toBe(200);

    const removed = await revoke('alice', true);
    expect(removed.consents.length).toBeGreaterThan(0);
    expect(removed.webhooks).toEqual([]); // WorkOS sends no event for a removed consent
    // The introspection answer may be reused for this long, no longer.
    await new Promise((resolve) => setTimeout(resolve, DEFAULT_INTROSPECTION_CACHE_MS + 50));
    expect(await call('purge', accessToken)).toBe(401);
    expect(stack.records.at(-1)).toMatchObject({ tool: 'purge', reason: 'token_inactive', status: 401 });
    expect(await call('peek', accessToken)).toBe(200); // no event: the deny list knows nothing yet

    // Removed from the organization: a signed event, and the deny list stops every token.
    const membership = await revoke('alice', false);
    expect(membership.webhooks.length).toBeGreaterThan(0);
    expect(membership.webhooks.every((w) => w.status === 200)).toBe(true);
    expect(await call('peek', accessToken)).toBe(401);
    expect(stack.records.filter((r) => r.type === 'webhook_event').map((r) => r.reason)).toContain('applied');
  });

  it('the revoke endpoint refuses what a web page could send', async () => {
    const url = `${stack.auth.issuer}/dev/revoke`;
    const body = JSON.stringify({ user: 'carol' });
    const form = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    expect(form.status).toBe(403);
    const foreign = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body,
    });
    expect(foreign.status).toBe(403);
    expect(stack.auth.revocations.revokedConsents.size).toBeGreaterThan(0); // alice's, from the test above
  });

  it('introspection fails closed: wrong client credentials or an unreachable issuer are "unavailable", never "active"', async () => {
    const { accessToken } = await mintToken({
      issuer: stack.auth.issuer,
      user: 'bob',
      resource: stack.resource,
      scope: 'files:write',
    });
    const url = `${stack.auth.issuer}/oauth2/introspection`;
    const good = createIntrospector({
      url,
      clientId: DEV_INTROSPECTION_CLIENT_ID,
      clientSecret: DEV_INTROSPECTION_CLIENT_SECRET,
      cacheMs: 0,
    });
    expect(await good(accessToken)).toBe('active');
    expect(await good(`${accessToken.slice(0, -4)}AAAA`)).toBe('inactive');
    const wrong = createIntrospector({
      url,
      clientId: DEV_INTROSPECTION_CLIENT_ID,
      clientSecret: 'not-the-secret',
      cacheMs: 0,
    });
    expect(await wrong(accessToken)).toBe('unavailable');
    const gone = createIntrospector({
      url: 'http://127.0.0.1:1/oauth2/introspection',
      clientId: 'x',
      clientSecret: 'y',
      cacheMs: 0,
    });
    expect(await gone(accessToken)).toBe('unavailable');
  });
});
