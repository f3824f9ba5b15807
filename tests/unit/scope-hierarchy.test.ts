import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { wwwAuthenticate } from '@/lib/auth/challenge';
import type { UserPrincipal } from '@/lib/auth/principal';
import { loadConfig } from '@/lib/config';
import { protectedResourceMetadata } from '@/lib/metadata';
import { evaluate } from '@/lib/policy';
import { createRegistry, defineTool, jsonResult } from '@/lib/registry';
import { effectiveScopes, satisfyingScopes } from '@/lib/scope-hierarchy';
import { MCP_HEADERS, readRpc } from '../helpers/app';
import { useEndpoint } from '../helpers/endpoint';

/**
 * Scope hierarchies (SEP-2350) and offline_access (SEP-2207): pure evaluation, then the real
 * endpoint over loopback HTTP with tokens from a test issuer, both wires.
 */

const HIERARCHY = { 'docs:admin': ['docs:write', 'docs:read'], 'docs:write': ['docs:draft'] } as const;
const user = (scope: string): UserPrincipal => ({
  kind: 'user',
  callerKind: 'user',
  actors: [],
  subject: 'user_1',
  scopes: scope.split(' ').filter(Boolean),
  issuedAt: 0,
  expiresAt: 9e9,
});

describe('evaluate with a hierarchy', () => {
  it('an implying scope satisfies what it implies, transitively', () => {
    expect(evaluate({ scopes: ['docs:read'] }, user('docs:admin'), undefined, HIERARCHY)).toEqual({ effect: 'allow' });
    expect(evaluate({ scopes: ['docs:draft'] }, user('docs:admin'), undefined, HIERARCHY)).toEqual({
      effect: 'allow',
    });
    expect(evaluate({ scopes: ['docs:read', 'docs:write'] }, user('docs:admin'), undefined, HIERARCHY).effect).toBe(
      'allow',
    );
  });

  it('never upwards: an implied scope does not satisfy the one implying it', () => {
    const decision = evaluate({ scopes: ['docs:admin'] }, user('docs:read docs:write'), undefined, HIERARCHY);
    expect(decision).toMatchObject({ effect: 'challenge', challenge: { kind: 'insufficient_scope' } });
  });

  it('without the hierarchy the same token is challenged (the hierarchy is what allows it)', () => {
    expect(evaluate({ scopes: ['docs:read'] }, user('docs:admin')).effect).toBe('challenge');
  });

  it('a step-up asks for granted plus missing, not for a scope the token already implies', () => {
    const decision = evaluate({ scopes: ['docs:read', 'other:x'] }, user('docs:admin'), undefined, HIERARCHY);
    expect(decision).toMatchObject({ effect: 'challenge', challenge: { scopes: ['docs:admin', 'other:x'] } });
  });

  it('effectiveScopes and satisfyingScopes walk the hierarchy both ways', () => {
    expect([...effectiveScopes(['docs:admin'], HIERARCHY)].sort()).toEqual([
      'docs:admin',
      'docs:draft',
      'docs:read',
      'docs:write',
    ]);
    expect(satisfyingScopes('docs:draft', HIERARCHY)).toEqual(['docs:admin', 'docs:draft', 'docs:write']);
    // A cyclic hierarchy never gets past the registry, but the walk terminates on one anyway.
    expect([...effectiveScopes(['a'], { a: ['b'], b: ['a'] })].sort()).toEqual(['a', 'b']);
  });
});

describe('offline_access is never advertised or asked for (SEP-2207)', () => {
  const PRM = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';

  it('not in a step-up challenge, though the token was granted it', () => {
    const decision = evaluate({ scopes: ['docs:write'] }, user('openid offline_access docs:read'));
    expect(decision.effect).toBe('challenge');
    if (decision.effect !== 'challenge') return;
    const header = wwwAuthenticate(decision.challenge, PRM);
    expect(header).toContain('scope="docs:read docs:write openid"');
    expect(header).not.toContain('offline_access');
  });

  it('not in a sign-in challenge', () => {
    const header = wwwAuthenticate({ kind: 'authentication_required', scopes: ['offline_access', 'docs:read'] }, PRM);
    expect(header).toBe(`Bearer resource_metadata="${PRM}", scope="docs:read"`);
  });

  it('not in scopes_supported, and no empty list when it was the only one', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      AUTHKIT_DOMAIN: 'https://x.authkit.app',
      MCP_RESOURCE_URL: 'https://mcp.example.com/mcp',
    });
    expect(protectedResourceMetadata(config, ['offline_access', 'docs:read']).scopes_supported).toEqual(['docs:read']);
    expect(protectedResourceMetadata(config, ['offline_access'])).not.toHaveProperty('scopes_supported');
  });
});

describe('through the endpoint: a docs:admin token calls docs:read and docs:write tools', () => {
  const RESOURCE = 'http://127.0.0.1:1/mcp';
  const runs: string[] = [];
  const tool = (name: string, scope: string) =>
    defineTool({
      name,
      title: name,
      description: name,
      access: { scopes: [scope] },
      input: z.object({}),
      handler: () => {
        runs.push(name);
        return jsonResult({ ran: name });
      },
    });
  const registry = createRegistry([tool('docs_read', 'docs:read'), tool('docs_write', 'docs:write')], {
    scopeHierarchy: { 'docs:admin': ['docs:read', 'docs:write'] },
  });
  const endpoint = useEndpoint(registry, { MCP_RESOURCE_URL: RESOURCE });
  const audit = endpoint.records;

  const post = async (scope: string, body: unknown) =>
    fetch(`${endpoint.server.url}/mcp`, {
      method: 'POST',
      headers: {
        ...MCP_HEADERS,
        authorization: `Bearer ${await endpoint.issuer.sign({ aud: RESOURCE, sub: 'user_admin', client_id: 'c', scope })}`,
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  const call = (name: string) => ({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: {} } });

  it.each(['docs_read', 'docs_write'])('%s runs for docs:admin, audited as allowed', async (name) => {
    const before = runs.length;
    const response = await post('openid docs:admin', call(name));
    expect(response.status).toBe(200);
    expect(await readRpc(response)).toMatchObject({ result: { structuredContent: { ran: name } } });
    expect(runs.slice(before)).toEqual([name]);
    expect(audit.filter((r) => r.tool === name && r.decision === 'allow').at(-1)).toMatchObject({
      outcome: 'ok',
      scopes: expect.arrayContaining(['docs:admin']),
    });
  });

  it('tools/list shows both to docs:admin, the challenge for docs:read alone asks for docs:write', async () => {
    const list = await readRpc(await post('docs:admin', { jsonrpc: '2.0', id: 1, method: 'tools/list' }));
    const names = (list.result as { tools: Array<{ name: string }> }).tools.map((t) => t.name).sort();
    expect(names).toEqual(['docs_read', 'docs_write']);
    const before = runs.length;
    const refused = await post('offline_access docs:read', call('docs_write'));
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toContain('scope="docs:read docs:write"');
    expect(runs.length).toBe(before);
  });

  it('scopes_supported lists the implying scope too', () => {
    expect(protectedResourceMetadata(endpoint.config, registry.scopes()).scopes_supported).toEqual([
      'docs:admin',
      'docs:read',
      'docs:write',
    ]);
  });
});
