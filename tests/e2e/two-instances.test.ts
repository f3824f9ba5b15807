import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolDefinition } from '@/lib/registry';
import { registry } from '@/tools';
import { sendWorkosWebhook, workosEvent } from '../../scripts/local-auth/webhook-sender';
import { auditRecords, MCP_HEADERS, rpc, startApp, type RunningApp } from '../helpers/app';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';
import { startTestRedis, type TestRedis } from '../helpers/redis';

/**
 * Two `next start` instances of the built app sharing one Redis (behind the Upstash REST front),
 * as two Vercel isolates share Upstash: a webhook delivered to one revokes on both within the
 * default freshness (measured and printed), a rate limit is counted across both, the store
 * stopped mid-test stops private calls and leaves public ones working, and every request is in the
 * audit trail. The primitives are chosen from the registry by policy, never by name.
 */
const SECRET = 'whsec_two_instances_test_secret_0123456789';
const RESOURCE = 'http://127.0.0.1:1/mcp'; // one audience for both instances
const FRESHNESS_MS = 1_000; // the default (lib/revocation/config.ts), not set here

let redis: TestRedis;
let issuer: TestIssuer;
let a: RunningApp;
let b: RunningApp;

const takesNoArguments = (tool: ToolDefinition) => tool.input.safeParse({}).success;
const limited = registry.tools.find(
  (t) => t.access === 'signed-in' && t.rate && takesNoArguments(t) && t.rate.requests <= 200,
);
const publicTool = registry.tools.find((t) => t.access === 'public' && takesNoArguments(t));

/** Per instance: the requests sent that must each leave exactly one record. */
const expected = new Map<RunningApp, number>();

beforeAll(async () => {
  [redis, issuer] = await Promise.all([startTestRedis(), startTestIssuer()]);
  const env = {
    AUTHKIT_DOMAIN: issuer.issuer,
    MCP_RESOURCE_URL: RESOURCE,
    WORKOS_WEBHOOK_SECRET: SECRET,
    ...redis.env,
  };
  [a, b] = await Promise.all([startApp(env), startApp(env)]);
  expected.set(a, 0).set(b, 0);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await Promise.all([redis?.close(), issuer?.close()]);
});

const sign = (sub: string) => issuer.sign({ aud: RESOURCE, sub, client_id: 'client_two', scope: 'openid' });

let id = 0;
/** A request that leaves one audit record (a call, or a refusal); `tools/list` polls are counted by the caller. */
async function post(app: RunningApp, body: string, token?: string, records = 1): Promise<Response> {
  expected.set(app, (expected.get(app) ?? 0) + records);
  return fetch(`${app.url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
    signal: AbortSignal.timeout(10_000),
  });
}
const callTool = (app: RunningApp, name: string, token?: string) =>
  post(app, rpc('tools/call', { name, arguments: {} }, ++id), token).then(async (r) => {
    await r.arrayBuffer();
    return r.status;
  });

describe('two instances, one Redis', () => {
  it('finds the primitives it needs in the registry', () => {
    expect(limited, 'a signed-in tool with a rate limit of at most 200 that takes no arguments').toBeDefined();
    expect(publicTool, 'a public tool that takes no arguments').toBeDefined();
  });

  it('a webhook delivered to one instance revokes the user on both within the freshness bound', async () => {
    const token = await sign('user_two_revoked');
    // Both instances have a cached "not revoked" answer for this token now: the worst case.
    const list = (app: RunningApp, records: number) =>
      post(app, rpc('tools/list', {}, ++id), token, records).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      });
    expect(await list(a, 0)).toBe(200);
    expect(await list(b, 0)).toBe(200);

    const event = workosEvent('user.deleted', { object: 'user', id: 'user_two_revoked' });
    const delivered = await sendWorkosWebhook(`${a.url}/webhooks/workos`, SECRET, event);
    expect(delivered.status).toBe(200);
    const sentAt = performance.now();
    expected.set(a, (expected.get(a) ?? 0) + 1); // the webhook's record

    const until = async (app: RunningApp): Promise<number> => {
      for (let attempt = 0; attempt < 200 && performance.now() - sentAt < 10_000; attempt++) {
        // A refusal is one record; an accepted list is none.
        const status = await list(app, 0);
        if (status === 401) {
          expected.set(app, (expected.get(app) ?? 0) + 1);
          return performance.now() - sentAt;
        }
        expect(status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error('not revoked within 10 s');
    };
    const [onA, onB] = await Promise.all([until(a), until(b)]);
    console.log(
      `[two-instances] revocation seen ${Math.round(onA)} ms (instance that got the webhook) and ${Math.round(onB)} ms (the other) after the webhook's 200; freshness bound ${FRESHNESS_MS} ms`,
    );
    // The bound plus one round trip and one polling step on a shared two-core machine.
    expect(onA).toBeLessThan(FRESHNESS_MS + 500);
    expect(onB).toBeLessThan(FRESHNESS_MS + 500);
  });

  it('counts a rate limit across both instances', async () => {
    if (!limited?.rate) throw new Error('no rate-limited tool');
    const limit = limited.rate.requests;
    const token = await sign('user_two_counted');
    // Alternating instances until the first refusal. Counted per instance, each would let `limit`
    // through (2 x limit in all); counted together, the first refusal comes before that. The sliding
    // window weighs the previous minute's calls down as the minute goes on, so a run that straddles a
    // minute may pass a few more than `limit`, never 2 x limit.
    let passed = 0;
    let refusedOn: RunningApp | undefined;
    for (let n = 0; n < 2 * limit + 2; n++) {
      const app = n % 2 ? b : a;
      const status = await callTool(app, limited.name, token);
      if (status === 429) {
        refusedOn = app;
        break;
      }
      expect(status).toBe(200);
      passed++;
    }
    console.log(
      `[two-instances] ${passed} calls passed before the first 429 (limit ${limit} per ${limited.rate.window}, both instances)`,
    );
    expect(refusedOn).toBeDefined();
    expect(passed).toBeGreaterThanOrEqual(limit);
    expect(passed).toBeLessThan(2 * limit);
    // The other instance refuses too: the count is the same everywhere.
    expect(await callTool(refusedOn === a ? b : a, limited.name, token)).toBe(429);
  });

  it('with the store stopped, private calls fail closed on both and public ones keep working', async () => {
    if (!limited || !publicTool) throw new Error('no primitives');
    const token = await sign('user_two_outage'); // never seen: no cached answer to lean on
    await redis.stopRedis();
    try {
      for (const app of [a, b]) {
        expect(await callTool(app, limited.name, token)).toBe(503);
        expect(await callTool(app, publicTool.name)).toBe(200);
        expect(await callTool(app, publicTool.name, token)).toBe(200);
      }
    } finally {
      await redis.startRedis();
    }
    expect(await callTool(a, limited.name, token)).toBe(200);
  });

  it('left every request in the audit trail of the instance that answered it', async () => {
    for (const app of [a, b]) {
      const want = expected.get(app) ?? 0;
      let records: Array<Record<string, unknown>> = [];
      for (let attempt = 0; attempt < 50; attempt++) {
        records = auditRecords(app.output());
        if (records.length >= want) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(records.length).toBe(want);
      expect(records.filter((r) => r.reason === 'revocation_unavailable').length).toBe(1);
    }
    expect(auditRecords(a.output()).filter((r) => r.type === 'webhook_event')).toHaveLength(1);
  });
});
