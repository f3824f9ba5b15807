import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ANONYMOUS, type UserPrincipal } from '@/lib/auth/principal';
import { loadConfig } from '@/lib/config';
import { describeRate, failsOpen, windowMs } from '@/lib/limits';
import { rateLimitKey, retryAfterSeconds } from '@/lib/rate-limit/key';
import { createRegistry, defineTool, jsonResult, RegistryError } from '@/lib/registry';
import { createRevocationCheck } from '@/lib/revocation/check';
import { loadRevocationConfig } from '@/lib/revocation/config';
import { coveringEntry, entriesFor } from '@/lib/revocation/deny-list';
import { denialsFor } from '@/lib/revocation/events';
import { signatureTimestamp } from '@/lib/revocation/webhook';
import { resolveSharedBackend } from '@/lib/shared-state';
import { createMemoryStore } from '@/lib/shared-state/memory';

const alice: UserPrincipal = {
  kind: 'user',
  callerKind: 'user',
  actors: [],
  subject: 'user_alice',
  organizationId: 'org_acme',
  clientId: 'client_1',
  sessionId: 'consent_1',
  scopes: [],
  issuedAt: 1_000,
  expiresAt: 2_000,
};

describe('deny list decision', () => {
  const entries = entriesFor(alice);
  it('names the subject, session, client and membership entries that could cover a token', () => {
    expect(entries.map((e) => e.key)).toEqual([
      'mcp:deny:subject:user_alice',
      'mcp:deny:session:consent_1',
      'mcp:deny:client:client_1',
      'mcp:deny:membership:org_acme user_alice',
    ]);
    expect(entriesFor({ ...alice, sessionId: undefined, clientId: undefined, organizationId: undefined })).toHaveLength(
      1,
    );
  });

  it.each([
    [[null, null, null, null], undefined],
    [['1000', null, null, null], 'subject'], // issued at the revocation second: covered
    [['999', null, null, null], undefined], // issued after: a new sign-in
    [[null, null, null, '5000'], 'membership'],
    [[null, 'not a number', null, null], 'session'], // a damaged entry never lets access through
  ] as const)('values %j -> %s', (values, kind) => {
    expect(coveringEntry(alice, entries, values)).toBe(kind);
  });
});

describe('WorkOS events', () => {
  const event = (type: string, data: Record<string, unknown>) => ({ id: 'event_1', event: type, data });
  it.each([
    ['session.revoked', { id: 'session_1', user_id: 'u' }, [{ kind: 'session', id: 'session_1' }]],
    ['user.deleted', { id: 'user_1' }, [{ kind: 'subject', id: 'user_1' }]],
    [
      'organization_membership.deleted',
      { id: 'om', user_id: 'u', organization_id: 'o' },
      [{ kind: 'membership', id: 'o u' }],
    ],
    [
      'organization_membership.updated',
      { id: 'om', user_id: 'u', organization_id: 'o' },
      [{ kind: 'membership', id: 'o u' }],
    ],
    ['api_key.revoked', { id: 'api_key_1' }, [{ kind: 'client', id: 'api_key_1' }]],
    ['agent.registration.revoked', { id: 'reg', client_id: 'client_agent' }, [{ kind: 'client', id: 'client_agent' }]],
    ['agent.instance.session.revoked', { id: 'agent_session_1' }, [{ kind: 'session', id: 'agent_session_1' }]],
  ])('%s denies what it names', (type, data, denials) => {
    expect(denialsFor(event(type, data))).toEqual({ kind: 'deny', denials });
  });

  it('ignores other events and refuses a handled one whose fields are missing', () => {
    expect(denialsFor(event('user.created', { id: 'u' }))).toEqual({ kind: 'ignored' });
    expect(denialsFor(event('toString', {}))).toEqual({ kind: 'ignored' });
    expect(denialsFor(event('organization_membership.deleted', { id: 'om', user_id: 'u' }))).toEqual({
      kind: 'malformed',
    });
    expect(denialsFor(event('user.deleted', { id: 'has space' }))).toEqual({ kind: 'malformed' });
  });

  it('reads the signature timestamp', () => {
    expect(signatureTimestamp('t=1700000000000, v1=abc')).toBe(1_700_000_000_000);
    expect(signatureTimestamp('v1=abc, t=1')).toBeUndefined();
    expect(signatureTimestamp('')).toBeUndefined();
  });
});

describe('the revocation check and its freshness', () => {
  it('reuses an answer for the freshness bound only, and says unavailable (uncached) when the store fails', async () => {
    let now = 0;
    const store = createMemoryStore(() => now);
    const check = createRevocationCheck(store, { freshnessMs: 1_000, now: () => now });
    expect(await check(alice)).toEqual({ kind: 'live' });
    await store.write([{ key: 'mcp:deny:subject:user_alice', value: '1000', ttlSeconds: 60 }]);
    now = 999;
    expect(await check(alice)).toEqual({ kind: 'live' }); // still the cached answer
    now = 1_000;
    expect(await check(alice)).toEqual({ kind: 'revoked', entry: 'subject' });
    const failing = createRevocationCheck(
      { ...store, read: () => Promise.reject(new Error('down')) },
      { freshnessMs: 1_000 },
    );
    expect(await failing(alice)).toEqual({ kind: 'unavailable' });
  });
});

describe('rate limits', () => {
  it('parses windows and describes limits', () => {
    expect(windowMs('10 s')).toBe(10_000);
    expect(windowMs('1 m')).toBe(60_000);
    expect(windowMs('500 ms')).toBe(500);
    expect(failsOpen({ requests: 1, window: '1 s' }, true)).toBe(true);
    expect(failsOpen({ requests: 1, window: '1 s' }, false)).toBe(false);
    expect(failsOpen({ requests: 1, window: '1 s', whenStoreSlow: 'open' }, false)).toBe(true);
    expect(describeRate({ requests: 30, window: '1 m' }, false)).toBe('30 per 1 m (slow store: refuse)');
    expect(describeRate(undefined, false)).toBe('none');
  });

  it('keys signed-in callers by issuer, subject, client and primitive; anonymous ones by address', () => {
    const headers = new Headers({ 'x-real-ip': '192.0.2.1' });
    const tool = { kind: 'tool', name: 'ping' };
    expect(rateLimitKey('https://a.authkit.app', alice, tool, headers)).toBe(
      'u|https%3A%2F%2Fa.authkit.app|user_alice|client_1|tool%3Aping',
    );
    expect(rateLimitKey('i', ANONYMOUS, tool, headers)).toBe('a|192.0.2.1|tool%3Aping');
    expect(rateLimitKey('i', ANONYMOUS, tool, new Headers({ 'x-real-ip': '<script>' }))).toBe(
      'a|anonymous|tool%3Aping',
    );
    expect(retryAfterSeconds(10_500, 10_000)).toBe(1);
    expect(retryAfterSeconds(70_000, 10_000)).toBe(60);
  });

  it('the memory store counts a fixed window', async () => {
    let now = 0;
    const store = createMemoryStore(() => now);
    const rule = { requests: 2, window: '1 s' } as const;
    expect((await store.limit('k', rule)).success).toBe(true);
    expect((await store.limit('k', rule)).success).toBe(true);
    expect(await store.limit('k', rule)).toMatchObject({ success: false, reset: 1_000 });
    now = 1_000;
    expect((await store.limit('k', rule)).success).toBe(true);
  });
});

describe('declared beside the policy, checked when the registry loads', () => {
  const tool = (extra: Record<string, unknown>) => ({
    name: 't',
    title: 'T',
    description: 'd',
    input: z.object({}),
    handler: () => jsonResult({}),
    access: 'signed-in',
    ...extra,
  });
  it.each([
    [{ rate: { requests: 0, window: '1 m' } }, /rate: requests/],
    [{ rate: { requests: 5, window: 'a minute' } }, /rate: window/],
    [{ rate: { requests: 5, window: '1 m', burst: 2 } }, /rate:.*burst/],
    [{ liveToken: 'yes' }, /liveToken must be true or false/],
    [{ access: 'public', liveToken: true }, /liveToken needs a token/],
  ])('%j is refused', (extra, message) => {
    expect(() => createRegistry([tool(extra)])).toThrow(RegistryError);
    expect(() => createRegistry([tool(extra)])).toThrow(message);
  });
  it('accepts a well-formed declaration', () => {
    const registry = createRegistry([
      defineTool({
        ...tool({}),
        access: 'signed-in',
        rate: { requests: 5, window: '1 m', whenStoreSlow: 'open' },
        liveToken: true,
      }),
    ]);
    expect(registry.get('t')?.rate).toEqual({ requests: 5, window: '1 m', whenStoreSlow: 'open' });
  });
});

describe('configuration', () => {
  it('selects Upstash, development memory, or none in production', () => {
    expect(
      resolveSharedBackend({ UPSTASH_REDIS_REST_URL: 'https://x.upstash.io', UPSTASH_REDIS_REST_TOKEN: 't' }),
    ).toMatchObject({ kind: 'upstash' });
    expect(resolveSharedBackend({ KV_REST_API_URL: 'https://x.upstash.io', KV_REST_API_TOKEN: 't' })).toMatchObject({
      kind: 'upstash',
      from: 'KV_REST_API_URL',
    });
    expect(resolveSharedBackend({ NODE_ENV: 'development' })).toEqual({ kind: 'memory' });
    expect(resolveSharedBackend({ NODE_ENV: 'production' })).toEqual({ kind: 'none' });
    expect(resolveSharedBackend({ VERCEL_ENV: 'preview' })).toEqual({ kind: 'none' });
    expect(() =>
      resolveSharedBackend({ UPSTASH_REDIS_REST_URL: 'http://x.upstash.io', UPSTASH_REDIS_REST_TOKEN: 't' }),
    ).toThrow(/UPSTASH_REDIS_REST_URL/);
    expect(() => resolveSharedBackend({ UPSTASH_REDIS_REST_URL: 'https://x.upstash.io' })).toThrow(
      /UPSTASH_REDIS_REST_TOKEN/,
    );
  });

  it('reads the freshness bound, the webhook secret and the introspection client', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      AUTHKIT_DOMAIN: 'https://a.authkit.app',
      MCP_RESOURCE_URL: 'https://m.example/mcp',
    });
    expect(config.revocationFreshnessMs).toBe(1_000);
    expect(() => loadConfig({ NODE_ENV: 'development', MCP_REVOCATION_FRESHNESS_MS: '-1' })).toThrow(
      /MCP_REVOCATION_FRESHNESS_MS/,
    );
    const revocation = loadRevocationConfig(
      { WORKOS_WEBHOOK_SECRET: 's', MCP_INTROSPECTION_CLIENT_ID: 'client_x', MCP_INTROSPECTION_CLIENT_SECRET: 'sk' },
      config,
    );
    expect(revocation).toMatchObject({
      webhookSecret: 's',
      denyTtlSeconds: 86_400 + 30,
      introspection: { url: 'https://a.authkit.app/oauth2/introspection', clientId: 'client_x', cacheMs: 2_000 },
    });
    expect(loadRevocationConfig({}, config).introspection).toBeUndefined();
    expect(() => loadRevocationConfig({ MCP_INTROSPECTION_CLIENT_ID: 'x' }, config)).toThrow(
      /MCP_INTROSPECTION_CLIENT_SECRET/,
    );
    expect(() =>
      loadRevocationConfig(
        { MCP_INTROSPECTION_CLIENT_ID: 'x', MCP_INTROSPECTION_CLIENT_SECRET: 'y', MCP_INTROSPECTION_CACHE_MS: '9000' },
        config,
      ),
    ).toThrow(/MCP_INTROSPECTION_CACHE_MS/);
    // Development against the local authorization server: its introspection client.
    expect(loadRevocationConfig({}, loadConfig({ NODE_ENV: 'development' })).introspection).toMatchObject({
      url: 'http://localhost:4000/oauth2/introspection',
    });
  });
});
