// @vitest-environment node
// The MCP TypeScript SDK's own OAuth client (`auth()` from
// @modelcontextprotocol/client) against the local authorization server, with a
// stub protected-resource-metadata server standing in for the MCP server. This
// is what MCP Inspector and SDK-based clients do, so it guards the DCR and
// scope handling they depend on.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { auth } from '@modelcontextprotocol/client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeOverHttp } from '../../scripts/oauth-client/flow';
import type { LocalAuthServer } from '../../scripts/local-auth/server';
import { SignInAsProvider } from '../helpers/oauth-client';
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

/** The shared in-memory provider, without automatic sign-in: these tests drive the authorization. */
const newProvider = () => new SignInAsProvider('alice', undefined, true, false);
type MemoryClientProvider = ReturnType<typeof newProvider>;

async function signIn(provider: MemoryClientProvider, scope?: string): Promise<Record<string, unknown>> {
  const redirects = provider.authorizations.length;
  expect(await auth(provider as never, { serverUrl: resource, ...(scope ? { scope } : {}) })).toBe('REDIRECT');
  expect(provider.authorizations.length, 'SDK redirected to the authorization endpoint').toBe(redirects + 1);
  const url = provider.authorizations.at(-1)!;
  expect(url.searchParams.get('resource')).toBe(resource);

  const callback = await authorizeOverHttp({ authorizationUrl: url, user: 'alice' });
  const code = callback.searchParams.get('code');
  expect(code, callback.href).toBeTruthy();
  // RFC 9207: the SDK checks the `iss` the authorization server put on the redirect.
  const iss = callback.searchParams.get('iss');
  expect(
    await auth(provider as never, { serverUrl: resource, authorizationCode: code ?? '', ...(iss ? { iss } : {}) }),
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
    const provider = newProvider();
    const payload = await signIn(provider);
    expect(provider.information?.client_id).toBeTypeOf('string');
    expect(payload).toMatchObject({
      sub: 'user_alice',
      org_id: 'org_acme',
      client_id: provider.information?.client_id,
    });
    expect(String(payload.scope).split(' ').sort()).toEqual(['notes:read', 'notes:write']);
    expect(provider.tokens()?.refresh_token).toBeTypeOf('string');
  });

  it('can step up from fewer scopes with the same registered client', async () => {
    const provider = newProvider();
    const narrow = await signIn(provider, 'notes:read');
    expect(String(narrow.scope).split(' ')).toEqual(['notes:read']);
    const clientId = provider.information?.client_id;

    provider.stored = undefined; // as after a 403 insufficient_scope
    const wide = await signIn(provider, 'notes:read notes:write');
    expect(provider.information?.client_id).toBe(clientId);
    expect(String(wide.scope).split(' ').sort()).toEqual(['notes:read', 'notes:write']);
  });
});
