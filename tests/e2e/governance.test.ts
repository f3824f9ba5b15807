import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AuditRecord } from '@/lib/audit/record';
import { loadConfig, type Config } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { createWorkosWebhookEndpoint } from '@/lib/endpoint/webhook';
import { createRegistry, defineTool, jsonResult } from '@/lib/registry';
import { DENY_PREFIX } from '@/lib/revocation/deny-list';
import { createUpstashStore, LIMITER_TIMEOUT_MS } from '@/lib/shared-state/upstash';
import { sendWorkosWebhook, workosEvent, workosSignature } from '../../scripts/local-auth/webhook-sender';
import { MCP_HEADERS, readRpc, rpc } from '../helpers/app';
import { ENDPOINT_RESOURCE } from '../helpers/endpoint';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';
import { serveFetchHandler, type Listening } from '../helpers/net';
import { startTestRedis, type TestRedis } from '../helpers/redis';

/**
 * Revocation and rate limits through the real endpoint, over HTTP on loopback, against a real
 * Redis behind the Upstash REST front, with a registry of this file's own. The deny list is read
 * fresh on every request here (freshness 0); tests/e2e/two-instances.test.ts measures the default.
 */
const SECRET = 'whsec_test_only_governance_secret_0123456789';
const runs = new Map<string, number>();
const counted = (name: string) => () => {
  runs.set(name, (runs.get(name) ?? 0) + 1);
  return jsonResult({ ran: name });
};

const registry = createRegistry([
  defineTool({
    name: 'open_echo',
    access: 'public',
    // Hour-long windows: the sliding window weighs the previous window's calls down as the current
    // one goes on, so a run straddling a boundary could pass one more call; an hour makes that rare.
    rate: { requests: 2, window: '1 h' },
    title: 'Open echo',
    description: 'Public, two calls an hour per address.',
    input: z.object({ n: z.number().int() }),
    handler: counted('open_echo'),
  }),
  defineTool({
    name: 'counted',
    access: 'signed-in',
    rate: { requests: 3, window: '1 h' },
    title: 'Counted',
    description: 'Three calls an hour per caller.',
    input: z.object({ n: z.number().int() }),
    handler: counted('counted'),
  }),
  defineTool({
    name: 'strict',
    access: 'signed-in',
    rate: { requests: 100, window: '1 m', whenStoreSlow: 'closed' },
    title: 'Strict',
    description: 'Refused when the counter cannot be read in time.',
    input: z.object({}),
    handler: counted('strict'),
  }),
  defineTool({
    name: 'lenient',
    access: 'signed-in',
    rate: { requests: 100, window: '1 m', whenStoreSlow: 'open' },
    title: 'Lenient',
    description: 'Let through when the counter cannot be read in time.',
    input: z.object({}),
    handler: counted('lenient'),
  }),
  defineTool({
    name: 'plain',
    access: 'signed-in',
    title: 'Plain',
    description: 'No rate limit.',
    input: z.object({}),
    handler: counted('plain'),
  }),
  defineTool({
    name: 'anyone',
    access: 'public',
    title: 'Anyone',
    description: 'Public, no rate limit.',
    input: z.object({}),
    handler: counted('anyone'),
  }),
]);

let redis: TestRedis;
let issuer: TestIssuer;
let config: Config;
let mcp: Listening;
let webhooks: Listening;
let direct: Redis;
const records: AuditRecord[] = [];

beforeAll(async () => {
  [redis, issuer] = await Promise.all([startTestRedis(), startTestIssuer()]);
  config = loadConfig({
    NODE_ENV: 'production',
    AUTHKIT_DOMAIN: issuer.issuer,
    MCP_RESOURCE_URL: ENDPOINT_RESOURCE,
    MCP_REVOCATION_FRESHNESS_MS: '0',
  });
  const governance = {
    store: () => createUpstashStore(redis.url, redis.token),
    env: () => ({ WORKOS_WEBHOOK_SECRET: SECRET }),
  };
  const auditLine = (record: AuditRecord) => records.push(record);
  mcp = await serveFetchHandler(createMcpEndpoint({ registry, config: () => config, governance, auditLine }));
  webhooks = await serveFetchHandler(createWorkosWebhookEndpoint({ config: () => config, governance, auditLine }));
  direct = new Redis({ url: redis.url, token: redis.token, retry: false, enableTelemetry: false });
});
afterAll(async () => {
  await Promise.all([mcp?.close(), webhooks?.close(), issuer?.close(), redis?.close()]);
});

let id = 0;
async function call(
  tool: string,
  args: Record<string, unknown>,
  token?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(`${mcp.url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: rpc('tools/call', { name: tool, arguments: args }, ++id),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, headers: response.headers, body: await readRpc(response) };
}

const sign = (sub: string, claims: Record<string, unknown> = {}) =>
  issuer.sign({ aud: ENDPOINT_RESOURCE, sub, client_id: 'client_governance', ...claims });
const lastRecord = (requestFilter: (r: AuditRecord) => boolean) => records.filter(requestFilter).at(-1);
const webhookUrl = () => `${webhooks.url}/webhooks/workos`;

describe('rate limits declared beside the policy', () => {
  it('counts per caller and primitive, answers 429 with Retry-After and a JSON-RPC error, before the handler and before argument validation', async () => {
    const token = await sign('user_rate');
    const other = await sign('user_rate_other');
    const before = runs.get('counted') ?? 0;
    for (let n = 0; n < 3; n++) expect((await call('counted', { n }, token)).status).toBe(200);
    const refused = await call('counted', { n: 4 }, token);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(refused.body).toMatchObject({
      jsonrpc: '2.0',
      id,
      error: { code: -32009, data: { reason: 'rate_limited' } },
    });
    // Arguments the tool would refuse: still the rate limit's answer, so validation never ran.
    expect((await call('counted', { n: 'not a number' }, token)).status).toBe(429);
    expect(runs.get('counted')).toBe(before + 3);
    expect(lastRecord((r) => r.tool === 'counted')).toMatchObject({
      decision: 'reject',
      reason: 'rate_limited',
      status: 429,
      outcome: 'not_run',
      sub: 'user_rate',
    });
    // Another caller, and another primitive of the same caller, have counters of their own.
    expect((await call('counted', { n: 1 }, other)).status).toBe(200);
    expect((await call('plain', {}, token)).status).toBe(200);
    // Counted in Redis, where every instance would see it.
    expect((await direct.keys('mcp:rl:*')).length).toBeGreaterThan(0);
  });

  it('counts concurrent calls exactly, each before it runs, sharing store round trips between them', async () => {
    const token = await sign('user_rate_burst');
    const before = runs.get('counted') ?? 0;
    const answers = await Promise.all(Array.from({ length: 12 }, (_, n) => call('counted', { n }, token)));
    expect(answers.map((a) => a.status).sort()).toEqual([...Array(3).fill(200), ...Array(9).fill(429)]);
    expect(runs.get('counted')).toBe(before + 3);

    // A limit high enough that nothing is refused (so no "blocked" shortcut): every call counts, and
    // calls arriving while a count is out go together. Each call also reads the deny list (freshness
    // 0 here), so without sharing this is 24 round trips.
    const burst = await sign('user_rate_burst_strict');
    const served = redis.front.served;
    const allowed = await Promise.all(Array.from({ length: 12 }, () => call('strict', {}, burst)));
    expect(allowed.every((a) => a.status === 200)).toBe(true);
    expect(redis.front.served - served).toBeLessThan(24);
  });

  it('counts anonymous public calls per client address', async () => {
    const a = { 'x-real-ip': '192.0.2.10' };
    const b = { 'x-real-ip': '192.0.2.11' };
    expect((await call('open_echo', { n: 1 }, undefined, a)).status).toBe(200);
    expect((await call('open_echo', { n: 2 }, undefined, a)).status).toBe(200);
    expect((await call('open_echo', { n: 3 }, undefined, a)).status).toBe(429);
    expect((await call('open_echo', { n: 1 }, undefined, b)).status).toBe(200);
  });
});

describe('the deny list, fed by signed WorkOS webhooks', () => {
  it('revokes every token of a deleted user on the next request, public calls included; a token issued afterwards works', async () => {
    const token = await sign('user_gone');
    expect((await call('plain', {}, token)).status).toBe(200);
    const delivered = await sendWorkosWebhook(
      webhookUrl(),
      SECRET,
      workosEvent('user.deleted', { object: 'user', id: 'user_gone' }),
    );
    expect(delivered.status).toBe(200);
    const refused = await call('plain', {}, token);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(
      /^Bearer error="invalid_token", error_description="The access token has been revoked", resource_metadata="/,
    );
    expect((await call('anyone', {}, token)).status).toBe(401);
    expect(lastRecord((r) => r.type === 'request_rejected')).toMatchObject({
      reason: 'token_revoked_subject',
      status: 401,
      sub: 'user_gone',
    });
    expect(lastRecord((r) => r.type === 'webhook_event')).toMatchObject({
      event: 'user.deleted',
      reason: 'applied',
      decision: 'allow',
      denied: ['subject:user_gone'],
    });
    // Issued after the revocation (iat one second later): not covered.
    const later = await sign('user_gone', { iat: Math.floor(Date.now() / 1000) + 1 });
    expect((await call('plain', {}, later)).status).toBe(200);
  });

  it('revokes a removed organization membership for that organization only', async () => {
    const inAcme = await sign('user_member', { org_id: 'org_acme' });
    const inGlobex = await sign('user_member', { org_id: 'org_globex' });
    const event = workosEvent('organization_membership.deleted', {
      object: 'organization_membership',
      id: 'om_1',
      user_id: 'user_member',
      organization_id: 'org_acme',
    });
    expect((await sendWorkosWebhook(webhookUrl(), SECRET, event)).status).toBe(200);
    expect((await call('plain', {}, inAcme)).status).toBe(401);
    expect((await call('plain', {}, inGlobex)).status).toBe(200);
  });

  it('changes nothing for a bad signature, an old timestamp or a replayed id, and audits each', async () => {
    const token = await sign('user_target', { sid: 'session_target' });
    const keys = async () => (await direct.keys(`${DENY_PREFIX}*`)).filter((k) => k.includes('target'));
    const event = workosEvent('session.revoked', { object: 'session', id: 'session_target', user_id: 'user_target' });

    const forged = await sendWorkosWebhook(webhookUrl(), 'whsec_not_the_secret_000000000000000000', event);
    expect(forged.status).toBe(400);
    expect(JSON.parse(forged.body)).toMatchObject({ error: { data: { reason: 'bad_signature' } } });
    const stale = await sendWorkosWebhook(webhookUrl(), SECRET, event, { timestampMs: Date.now() - 181_000 });
    expect(stale.status).toBe(400);
    expect(JSON.parse(stale.body)).toMatchObject({ error: { data: { reason: 'stale_timestamp' } } });
    const body = JSON.stringify(event);
    const tampered = await fetch(webhookUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'workos-signature': workosSignature(SECRET, body) },
      body: body.replace('session_target', 'session_victim'),
    });
    expect(tampered.status).toBe(400);
    expect(await keys()).toEqual([]);
    expect((await call('plain', {}, token)).status).toBe(200);

    // The real delivery applies; the same delivery replayed within the window changes nothing more.
    const signature = workosSignature(SECRET, body);
    expect((await sendWorkosWebhook(webhookUrl(), SECRET, event, { signature })).status).toBe(200);
    const written = await direct.get(`${DENY_PREFIX}session:session_target`);
    expect(written).not.toBeNull();
    const replay = await sendWorkosWebhook(webhookUrl(), SECRET, event, { signature });
    expect(replay.status).toBe(200);
    expect(JSON.parse(replay.body)).toEqual({ ok: true, outcome: 'duplicate' });
    expect(await direct.get(`${DENY_PREFIX}session:session_target`)).toEqual(written);
    expect((await call('plain', {}, token)).status).toBe(401);

    const outcomes = records
      .filter((r) => r.type === 'webhook_event' && r.event !== 'user.deleted')
      .map((r) => r.reason);
    expect(outcomes).toEqual(expect.arrayContaining(['bad_signature', 'stale_timestamp', 'applied', 'duplicate']));
    // The answers carry no secret, signature or payload.
    expect(forged.body).not.toContain('session_target');
  });
});

describe('when the store is slow or down', () => {
  it('a slow counter fails closed or open as each policy says', async () => {
    const token = await sign('user_slow');
    redis.front.setDelay(LIMITER_TIMEOUT_MS + 300);
    try {
      const strict = await call('strict', {}, token);
      expect(strict.status).toBe(503);
      expect(strict.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(lastRecord((r) => r.tool === 'strict')).toMatchObject({ reason: 'rate_limit_unavailable', status: 503 });
      expect((await call('lenient', {}, token)).status).toBe(200);
    } finally {
      redis.front.setDelay(0);
    }
  });

  it('private calls fail closed with 503 and Retry-After, audited; public calls keep working', async () => {
    const token = await sign('user_outage');
    await redis.stopRedis();
    try {
      const privateCall = await call('plain', {}, token);
      expect(privateCall.status).toBe(503);
      expect(privateCall.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(privateCall.body).toMatchObject({ error: { code: -32005, data: { reason: 'unavailable' } } });
      expect(lastRecord((r) => r.tool === 'plain')).toMatchObject({
        reason: 'revocation_unavailable',
        status: 503,
        outcome: 'not_run',
      });
      expect((await call('anyone', {}, token)).status).toBe(200);
      expect((await call('anyone', {})).status).toBe(200);
      // A public primitive with a rate limit lets calls through uncounted (its default when the store is out).
      expect((await call('open_echo', { n: 1 }, undefined, { 'x-real-ip': '192.0.2.99' })).status).toBe(200);
    } finally {
      await redis.startRedis();
    }
    expect((await call('plain', {}, token)).status).toBe(200);
  });
});
