// @vitest-environment node
// The MCP TypeScript SDK's own OAuth client (`auth()` from
// @modelcontextprotocol/client) against the local authorization server, with a
// stub protected-resource-metadata server standing in for the MCP server. This
// is what MCP Inspector and SDK-based clients do, so it guards the DCR and
// scope handling they depend on.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  auth,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeOverHttp } from '../../scripts/local-auth/flow';
import type { LocalAuthServer } from '../../scripts/local-auth/server';
import { makeTempDir, startTestServer } from './helpers';

let authServer: LocalAuthServer;
let resourceServer: Server;
let resource: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const tmp = await makeTempDir();
  cleanup = tmp.remove;
  // RFC 9728 metadata, as the MCP server publishes it.
  resourceServer = createServer((req, res) => {
    if (req.url === '/.well-known/oauth-protected-resource/mcp') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          resource,
          authorization_servers: [authServer.issuer],
          scopes_supported: ['notes:read', 'notes:write'],
          bearer_methods_supported: ['header'],
        }),
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => resourceServer.listen(0, '127.0.0.1', resolve));
  resource = `http://127.0.0.1:${(resourceServer.address() as AddressInfo).port}/mcp`;
  authServer = await startTestServer(join(tmp.dir, 'keys.json'), { resources: [resource] });
});

afterAll(async () => {
  await authServer?.close();
  await new Promise<void>((resolve) => (resourceServer ? resourceServer.close(() => resolve()) : resolve()));
  resourceServer?.closeAllConnections();
  await cleanup?.();
});

class MemoryClientProvider implements OAuthClientProvider {
  readonly redirectUrl = 'http://localhost:6274/oauth/callback';
  information: StoredOAuthClientInformation | undefined;
  stored: StoredOAuthTokens | undefined;
  verifier = '';
  discovery: OAuthDiscoveryState | undefined;
  authorizationUrl: URL | undefined;

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'SDK test client',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.information;
  }
  saveClientInformation(information: StoredOAuthClientInformation) {
    this.information = information;
  }
  tokens() {
    return this.stored;
  }
  saveTokens(tokens: StoredOAuthTokens) {
    this.stored = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  redirectedTo(): URL {
    if (!this.authorizationUrl) throw new Error('SDK did not redirect to the authorization endpoint');
    return this.authorizationUrl;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  saveDiscoveryState(state: OAuthDiscoveryState) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery;
  }
}

async function signIn(provider: MemoryClientProvider, scope?: string): Promise<Record<string, unknown>> {
  provider.authorizationUrl = undefined;
  expect(await auth(provider, { serverUrl: resource, ...(scope ? { scope } : {}) })).toBe('REDIRECT');
  const url = provider.redirectedTo();
  expect(url.searchParams.get('resource')).toBe(resource);

  const callback = await authorizeOverHttp({ authorizationUrl: url, user: 'alice' });
  const code = callback.searchParams.get('code');
  expect(code, callback.href).toBeTruthy();
  // RFC 9207: the SDK checks the `iss` the authorization server put on the redirect.
  const iss = callback.searchParams.get('iss');
  expect(
    await auth(provider, { serverUrl: resource, authorizationCode: code ?? '', ...(iss ? { iss } : {}) }),
  ).toBe('AUTHORIZED');

  const token = provider.tokens()?.access_token ?? '';
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${authServer.issuer}/oauth2/jwks`)), {
    issuer: authServer.issuer,
    audience: resource,
    algorithms: ['RS256'],
  });
  return payload;
}

describe('MCP SDK OAuth client', () => {
  it('registers, authorizes and exchanges the code', async () => {
    const provider = new MemoryClientProvider();
    const payload = await signIn(provider);
    expect(provider.information?.client_id).toBeTypeOf('string');
    expect(payload).toMatchObject({ sub: 'user_alice', org_id: 'org_acme', client_id: provider.information?.client_id });
    expect(String(payload.scope).split(' ').sort()).toEqual(['notes:read', 'notes:write']);
    expect(provider.tokens()?.refresh_token).toBeTypeOf('string');
  });

  it('can step up from fewer scopes with the same registered client', async () => {
    const provider = new MemoryClientProvider();
    const narrow = await signIn(provider, 'notes:read');
    expect(String(narrow.scope).split(' ')).toEqual(['notes:read']);
    const clientId = provider.information?.client_id;

    provider.stored = undefined; // as after a 403 insufficient_scope
    const wide = await signIn(provider, 'notes:read notes:write');
    expect(provider.information?.client_id).toBe(clientId);
    expect(String(wide.scope).split(' ').sort()).toEqual(['notes:read', 'notes:write']);
  });
});
