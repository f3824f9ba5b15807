// @vitest-environment node
// A client that comes back with a client_id the server no longer knows (restarted with its
// registrations file deleted) never lands on a page that leaves it waiting: a public native client's
// registration is restored from its authorization request and the sign-in goes on; anything else
// gets `invalid_client` (JSON to whoever asks for JSON, as mcp-remote does before it opens a
// browser); and the token endpoint's `invalid_client` makes the MCP SDK's `auth()` drop the
// registration and register again.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { auth } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalAuthServer, LocalAuthServerOptions } from '../../scripts/local-auth/server';
import { authorizeOverHttp, createPkcePair, discover, registerPublicClient } from '../../scripts/oauth-client/flow';
import { SignInAsProvider } from '../helpers/oauth-client';
import { makeTempDir, startTestServer } from './helpers';

const SCOPES = ['tool:read'];
let tmp: { dir: string; remove: () => Promise<void> };
let resourceServer: Server;
let resource: string;
/** Whichever authorization server runs now: the resource metadata names it. */
let current: LocalAuthServer | undefined;
const servers: LocalAuthServer[] = [];

beforeAll(async () => {
  tmp = await makeTempDir();
  // RFC 9728 metadata, as the MCP server publishes it.
  resourceServer = createServer((req, res) => {
    if (req.url === '/.well-known/oauth-protected-resource/mcp' && current) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ resource, authorization_servers: [current.issuer], scopes_supported: SCOPES }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => resourceServer.listen(0, '127.0.0.1', resolve));
  resource = `http://127.0.0.1:${(resourceServer.address() as AddressInfo).port}/mcp`;
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  current = undefined;
});
afterAll(async () => {
  resourceServer?.closeAllConnections();
  await new Promise<void>((resolve) => (resourceServer ? resourceServer.close(() => resolve()) : resolve()));
  await tmp?.remove();
});

async function start(overrides: Partial<LocalAuthServerOptions> = {}): Promise<LocalAuthServer> {
  const server = await startTestServer(join(tmp.dir, 'keys.json'), {
    resources: [resource],
    scopes: SCOPES,
    ...overrides,
  });
  servers.push(server);
  current = server;
  return server;
}

/** A client registered before a restart that lost every registration, and an authorization URL naming it. */
async function staleClient(
  redirectUri: string,
  log?: (line: string) => void,
): Promise<{ server: LocalAuthServer; url: URL; clientId: string }> {
  const clientsFile = join(tmp.dir, `clients-${Date.now()}.json`);
  const before = await start({ clientsFile });
  const { clientId } = await registerPublicClient(await discover(before.issuer), { redirectUri });
  await before.close();
  await rm(clientsFile, { force: true }); // absent when registrations were never kept
  const server = await start({ clientsFile, port: before.port, log });
  const url = new URL((await discover(server.issuer)).authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'tool:read',
    state: 'the-state',
    code_challenge: createPkcePair().challenge,
    code_challenge_method: 'S256',
    resource,
  }).toString();
  return { server, url, clientId };
}

/** The in-memory SDK provider, plus what every real client implements: dropping rejected credentials. */
class ForgetfulProvider extends SignInAsProvider {
  readonly invalidated: string[] = [];
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') {
    this.invalidated.push(scope);
    if (scope === 'all' || scope === 'client') this.information = undefined;
    if (scope === 'all' || scope === 'tokens') this.stored = undefined;
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }
}

describe('a client_id the authorization server no longer knows', () => {
  it("is restored from a public native client's authorization request, and the sign-in goes on", async () => {
    const lines: string[] = [];
    const { server, url, clientId } = await staleClient('http://127.0.0.1:33418/oauth/callback', (l) => lines.push(l));
    const res = await fetch(url, { redirect: 'manual', headers: { accept: 'application/json' } });
    await res.body?.cancel();
    expect(res.status, 'on to the sign-in page').toBe(303);
    expect(lines.join('\n')).toContain(`client ${clientId} was not registered`);

    // The whole flow with the client_id the client saved, also after its loopback port changed.
    const metadata = await discover(server.issuer);
    for (const redirectUri of ['http://127.0.0.1:33418/oauth/callback', 'http://127.0.0.1:40123/oauth/callback']) {
      const pkce = createPkcePair();
      const target = new URL(url);
      target.searchParams.set('redirect_uri', redirectUri);
      target.searchParams.set('code_challenge', pkce.challenge);
      const callback = await authorizeOverHttp({ authorizationUrl: target, user: 'alice' });
      const token = await fetch(metadata.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: clientId,
          code: callback.searchParams.get('code') ?? '',
          redirect_uri: redirectUri,
          code_verifier: pkce.verifier,
        }),
      });
      const body = (await token.json()) as Record<string, unknown>;
      expect(token.status, JSON.stringify(body)).toBe(200);
      expect(body.refresh_token).toBeTypeOf('string');
    }
  });

  it('is answered invalid_client as JSON when it cannot be restored (a redirect URI off this machine)', async () => {
    const { url } = await staleClient('https://client.example/callback');
    const res = await fetch(url, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.error).toBe('invalid_client');
    expect(String(body.error_description)).toMatch(/not registered .*register the client again/);
  });

  it('is not restored without PKCE S256 on the authorization code flow', async () => {
    const { url } = await staleClient('http://127.0.0.1:33418/oauth/callback');
    url.searchParams.delete('code_challenge');
    url.searchParams.delete('code_challenge_method');
    const res = await fetch(url, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Record<string, unknown>).error).toBe('invalid_client');
  });

  it('gets a browser a page that says to register again, never a redirect to an unvouched URI', async () => {
    const { url, clientId } = await staleClient('https://client.example/callback');
    const res = await fetch(url, {
      redirect: 'manual',
      headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull(); // RFC 6749 §4.1.2.1
    const html = await res.text();
    expect(html).toContain('Unknown client');
    expect(html).toContain(clientId);
    expect(html).toContain('register again');
    expect(html).not.toContain('client.example');
  });

  it('makes the MCP SDK client register again when its refresh is refused with invalid_client', async () => {
    const clientsFile = join(tmp.dir, 'sdk-clients.json');
    const before = await start({ clientsFile });
    const provider = new ForgetfulProvider('alice', undefined, true, false);
    expect(await auth(provider as never, { serverUrl: resource })).toBe('REDIRECT');
    const first = await authorizeOverHttp({ authorizationUrl: provider.authorizations.at(-1) ?? '', user: 'alice' });
    expect(
      await auth(provider as never, {
        serverUrl: resource,
        authorizationCode: first.searchParams.get('code') ?? '',
        iss: first.searchParams.get('iss') ?? undefined,
      }),
    ).toBe('AUTHORIZED');
    const oldClientId = provider.information?.client_id;
    expect(provider.tokens()?.refresh_token).toBeTypeOf('string');

    await before.close();
    await rm(clientsFile, { force: true }); // absent when registrations were never kept
    await start({ clientsFile, port: before.port });

    // The access token ran out: the SDK refreshes, the token endpoint answers invalid_client, the SDK
    // drops the registration and its tokens, registers again and sends the person to sign in.
    expect(await auth(provider as never, { serverUrl: resource })).toBe('REDIRECT');
    expect(provider.invalidated).toEqual(expect.arrayContaining(['client', 'tokens']));
    const newClientId = provider.information?.client_id;
    expect(newClientId).toBeTypeOf('string');
    expect(newClientId).not.toBe(oldClientId);
    const url = provider.authorizations.at(-1);
    expect(url?.searchParams.get('client_id')).toBe(newClientId);
    const callback = await authorizeOverHttp({ authorizationUrl: url ?? '', user: 'alice' });
    expect(
      await auth(provider as never, {
        serverUrl: resource,
        authorizationCode: callback.searchParams.get('code') ?? '',
        iss: callback.searchParams.get('iss') ?? undefined,
      }),
    ).toBe('AUTHORIZED');
  });

  it('lets the MCP SDK client that kept its registration but not its tokens sign in with it again', async () => {
    const clientsFile = join(tmp.dir, 'sdk-kept.json');
    const before = await start({ clientsFile });
    const provider = new ForgetfulProvider('alice', undefined, true, false);
    expect(await auth(provider as never, { serverUrl: resource })).toBe('REDIRECT');
    const savedClientId = provider.information?.client_id;
    await before.close();
    await rm(clientsFile, { force: true }); // absent when registrations were never kept
    await start({ clientsFile, port: before.port });

    // No tokens (dropped for a new scope, or never obtained): straight to the authorization endpoint.
    provider.stored = undefined;
    expect(await auth(provider as never, { serverUrl: resource })).toBe('REDIRECT');
    const url = provider.authorizations.at(-1);
    expect(url?.searchParams.get('client_id')).toBe(savedClientId);
    const callback = await authorizeOverHttp({ authorizationUrl: url ?? '', user: 'alice' });
    expect(callback.searchParams.get('code'), callback.href).toBeTruthy();
    expect(
      await auth(provider as never, {
        serverUrl: resource,
        authorizationCode: callback.searchParams.get('code') ?? '',
        iss: callback.searchParams.get('iss') ?? undefined,
      }),
    ).toBe('AUTHORIZED');
    expect(provider.information?.client_id).toBe(savedClientId);
    expect(provider.invalidated).toEqual([]);
  });
});
