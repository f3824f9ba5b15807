// @vitest-environment node
// The scopes the local authorization server offers may change while it runs (a tool that requires a
// new scope, reloaded by next dev): the consent step, the token endpoint and the metadata follow a
// scope function, and `resourceScopes` reads them from the MCP server's protected resource metadata
// over real HTTP, falling back without waiting long when that server does not answer.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, OAuthFlowError, refreshAccessToken } from '../../scripts/oauth-client/flow';
import { protectedResourceMetadataUrl, resourceScopes } from '../../scripts/local-auth/resource-scopes';
import type { LocalAuthServer, LocalAuthServerOptions } from '../../scripts/local-auth/server';
import { RESOURCE, makeTempDir, startTestServer } from './helpers';

let tmp: { dir: string; remove: () => Promise<void> };
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  tmp = await makeTempDir();
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  await tmp?.remove();
});

async function start(overrides: Partial<LocalAuthServerOptions>): Promise<LocalAuthServer> {
  const server = await startTestServer(join(tmp.dir, 'keys.json'), overrides);
  closers.push(() => server.close());
  return server;
}

async function advertised(server: LocalAuthServer): Promise<string[]> {
  const res = await fetch(`${server.issuer}/.well-known/oauth-authorization-server`);
  return ((await res.json()) as { scopes_supported: string[] }).scopes_supported;
}

async function scopeOf(server: LocalAuthServer, token: string): Promise<string[]> {
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${server.issuer}/oauth2/jwks`)), {
    issuer: server.issuer,
    audience: RESOURCE,
  });
  return String(payload.scope).split(' ').sort();
}

/** A stand-in for the MCP server's RFC 9728 metadata route, on loopback, whose scopes a test changes. */
async function metadataServer(resource: (port: number) => string): Promise<{
  resource: string;
  scopes: string[];
  /** 'answer' (200), 'hang' (never answers), 'other' (metadata for another resource). */
  mode: 'answer' | 'hang' | 'other';
  requests: number;
}> {
  const state = { resource: '', scopes: [] as string[], mode: 'answer' as 'answer' | 'hang' | 'other', requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests++;
    if (req.url !== new URL(protectedResourceMetadataUrl(state.resource)).pathname) {
      res.writeHead(404).end();
      return;
    }
    if (state.mode === 'hang') return; // keeps the socket open: the reader must give up on its own
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        resource: state.mode === 'other' ? 'http://localhost:1/other' : state.resource,
        authorization_servers: ['http://localhost:4000'],
        scopes_supported: state.scopes,
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.resource = resource((server.address() as AddressInfo).port);
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return state;
}

describe('scopes offered while the server runs', () => {
  it('follow a scope function in the metadata, the consent step and the token endpoint', async () => {
    let offered = ['tool:read'];
    const server = await start({ scopes: () => offered });
    expect(await advertised(server)).toEqual(expect.arrayContaining(['openid', 'tool:read']));
    expect(await advertised(server)).not.toContain('tool:write');

    // Not offered yet: the consent step leaves it out, so a request for it alone is refused.
    await expect(
      mintToken({ issuer: server.issuer, user: 'alice', scope: 'tool:write', resource: RESOURCE }),
    ).rejects.toThrow(OAuthFlowError);

    offered = ['tool:read', 'tool:write']; // a tool that requires tool:write was added
    expect(await advertised(server)).toEqual(expect.arrayContaining(['tool:read', 'tool:write']));
    const both = await mintToken({ issuer: server.issuer, user: 'alice', resource: RESOURCE });
    expect(await scopeOf(server, both.accessToken)).toEqual(['tool:read', 'tool:write']);

    offered = ['tool:read']; // and removed again: a refresh no longer carries it
    const refreshed = await refreshAccessToken({
      issuer: server.issuer,
      clientId: both.clientId,
      refreshToken: both.refreshToken ?? '',
      resource: RESOURCE,
    });
    expect(await scopeOf(server, refreshed.accessToken)).toEqual(['tool:read']);
  });

  it('leave out what a scope function answers that is no resource scope, and keep the last answer when it fails', async () => {
    const lines: string[] = [];
    let answer: () => string[] = () => ['tool:read', 'openid', 'bad scope'];
    const server = await start({ scopes: () => answer(), log: (line) => lines.push(line) });
    const first = await advertised(server);
    expect(first.filter((s) => s.startsWith('tool:') || s === 'bad scope')).toEqual(['tool:read']);
    expect(lines.join('\n')).toContain('"bad scope" is not a valid OAuth scope token');

    answer = () => {
      throw new Error('registry failed to load');
    };
    expect(await advertised(server)).toEqual(first);
    expect(lines.join('\n')).toContain('registry failed to load; still offering: tool:read');
  });
});

describe("resourceScopes: the MCP server's protected resource metadata", () => {
  it('is read at the RFC 9728 path-inserted location', () => {
    expect(protectedResourceMetadataUrl('http://localhost:3000/mcp')).toBe(
      'http://localhost:3000/.well-known/oauth-protected-resource/mcp',
    );
    expect(protectedResourceMetadataUrl('http://localhost:3000/')).toBe(
      'http://localhost:3000/.well-known/oauth-protected-resource',
    );
  });

  it('decides what the authorization server offers, as it changes', async () => {
    const mcp = await metadataServer((port) => `http://localhost:${port}/mcp`);
    mcp.scopes = ['tool:read'];
    const lines: string[] = [];
    const server = await start({
      resources: [mcp.resource],
      scopes: resourceScopes({ resource: mcp.resource, fallback: ['start:only'], log: (l) => lines.push(l) }),
    });
    expect(await advertised(server)).toContain('tool:read');
    expect(await advertised(server)).not.toContain('start:only');

    mcp.scopes = ['tool:read', 'weather:read'];
    expect(await advertised(server)).toContain('weather:read');
    const token = await mintToken({
      issuer: server.issuer,
      user: 'bob',
      scope: 'weather:read',
      resource: mcp.resource,
    });
    expect(token.scope).toBe('weather:read');
    expect(lines.join('\n')).toContain('lists: tool:read weather:read');
  });

  it('falls back to the list from start, then to the last answer, within its timeout when the server does not answer', async () => {
    const mcp = await metadataServer((port) => `http://localhost:${port}/mcp`);
    mcp.mode = 'hang';
    const read = resourceScopes({ resource: mcp.resource, fallback: ['start:only'], timeoutMs: 300 });
    let started = Date.now();
    expect(await read()).toEqual(['start:only']);
    expect(Date.now() - started).toBeLessThan(2_000);

    mcp.mode = 'answer';
    mcp.scopes = ['tool:read'];
    expect(await read()).toEqual(['tool:read']);

    mcp.mode = 'hang';
    started = Date.now();
    expect(await read()).toEqual(['tool:read']);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('ignores metadata that describes another resource', async () => {
    const mcp = await metadataServer((port) => `http://localhost:${port}/mcp`);
    mcp.mode = 'other';
    mcp.scopes = ['other:scope'];
    const lines: string[] = [];
    const read = resourceScopes({ resource: mcp.resource, fallback: ['start:only'], log: (l) => lines.push(l) });
    expect(await read()).toEqual(['start:only']);
    expect(lines.join('\n')).toContain('describes http://localhost:1/other');
  });

  it('shares one request among callers that arrive together', async () => {
    const mcp = await metadataServer((port) => `http://localhost:${port}/mcp`);
    mcp.scopes = ['tool:read'];
    const read = resourceScopes({ resource: mcp.resource, fallback: [] });
    const answers = await Promise.all([read(), read(), read()]);
    expect(answers).toEqual([['tool:read'], ['tool:read'], ['tool:read']]);
    expect(mcp.requests).toBe(1);
  });
});
