import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
  UnauthorizedError as UnauthorizedV2,
  type ClientOptions,
} from '@modelcontextprotocol/client';
import { UnauthorizedError as UnauthorizedV1 } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../scripts/oauth-client/flow';
import { MCP_HEADERS, rpc } from '../helpers/app';
import { FIXTURE_SCOPES } from '../helpers/fixture-app';
import { type FixtureStack, startFixtureStack } from '../helpers/fixture-stack';
import { SignInAsProvider } from '../helpers/oauth-client';

/**
 * The whole OAuth dance with clients nobody here wrote: the MCP SDK v2 and v1 OAuth client
 * providers, against the framework serving a fixture app over HTTP and the local oidc-provider
 * authorization server.
 * 401 -> resource metadata -> dynamic registration -> PKCE + resource -> token -> retried call;
 * then 403 insufficient_scope -> step-up -> retried call.
 */
let stack: FixtureStack;
let app: { url: string };
let auth: FixtureStack['auth'];
let resource: string;
const OTHER_RESOURCE = 'http://127.0.0.1:9/other-mcp';

beforeAll(async () => {
  stack = await startFixtureStack({ extraResources: [OTHER_RESOURCE] });
  ({ server: app, auth, resource } = stack);
});
afterAll(async () => stack?.close());

type Generation = {
  name: string;
  /** v1 step-up only works without a refresh token (typescript-sdk#2255); v2 handles both. */
  refreshTokens: boolean;
  connect(provider: SignInAsProvider): Promise<{
    client: {
      listTools(): Promise<{ tools: Array<{ name: string }> }>;
      callTool(p: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
      close(): Promise<void>;
    };
    finishAuth(callback: URL): Promise<void>;
  }>;
  Unauthorized: new (...args: never[]) => Error;
};

function v2(name: string, versionNegotiation?: ClientOptions['versionNegotiation']): Generation {
  return {
    name,
    refreshTokens: true,
    Unauthorized: UnauthorizedV2,
    async connect(provider) {
      const transport = new TransportV2(new URL(resource), { authProvider: provider as never });
      const client = new ClientV2(
        { name: 'oauth-e2e-v2', version: '1.0.0' },
        versionNegotiation ? { versionNegotiation } : {},
      );
      await client.connect(transport);
      // v2 checks the RFC 9207 `iss` on the callback, so it gets the whole query.
      return { client, finishAuth: (callback) => transport.finishAuth(callback.searchParams) };
    },
  };
}

const generations: Generation[] = [
  v2('v2 @modelcontextprotocol/client pinned to 2026-07-28', { mode: { pin: '2026-07-28' } }),
  v2('v2 @modelcontextprotocol/client in auto (2026-07-28 here)', { mode: 'auto' }),
  v2('v2 @modelcontextprotocol/client in legacy (2025-11-25)'),
  {
    name: 'v1 @modelcontextprotocol/sdk',
    refreshTokens: false,
    Unauthorized: UnauthorizedV1,
    async connect(provider) {
      const transport = new TransportV1(new URL(resource), { authProvider: provider as never });
      const client = new ClientV1({ name: 'oauth-e2e-v1', version: '1.0.0' });
      await client.connect(transport);
      return { client, finishAuth: (callback) => transport.finishAuth(callback.searchParams.get('code') ?? '') };
    },
  },
];

describe.each(generations)('$name', ({ connect, Unauthorized, refreshTokens }) => {
  it('signs in on 401, then steps up on 403 insufficient_scope, and each retried call succeeds', async () => {
    const provider = new SignInAsProvider('alice', 'org_acme', refreshTokens);
    const { client, finishAuth } = await connect(provider);
    try {
      // Anonymous: connect and list work; private tools are listed because signing in reaches them.
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'me', 'docs_write', 'docs_read']));

      // 1. A private call: 401 -> PRM -> DCR -> authorize (PKCE S256 + resource) -> sign-in over HTTP.
      await expect(client.callTool({ name: 'docs_write', arguments: { title: 'first' } })).rejects.toBeInstanceOf(
        Unauthorized,
      );
      const first = provider.authorizations.at(-1)!;
      expect(first.origin).toBe(new URL(auth.issuer).origin);
      expect(first.pathname).toBe('/oauth2/authorize');
      expect(first.searchParams.get('code_challenge_method')).toBe('S256');
      expect(first.searchParams.get('resource')).toBe(resource);
      expect(first.searchParams.get('scope')?.split(' ')).toContain(FIXTURE_SCOPES.write);
      expect(provider.information?.client_id).toBeTruthy(); // dynamically registered
      // Discovery followed the resource_metadata URL of the 401 challenge to our RFC 9728 document.
      expect(provider.discovery).toMatchObject({
        resourceMetadataUrl: `${app.url}/.well-known/oauth-protected-resource/mcp`,
        resourceMetadata: { resource, authorization_servers: [auth.issuer] },
        authorizationServerUrl: expect.stringMatching(new RegExp(`^${auth.issuer}/?$`)),
      });

      await finishAuth(provider.takeCallback());
      const token = provider.tokens()!.access_token;
      const claims = decodeJwt(token);
      expect(claims.aud).toBe(resource);
      expect(claims).toMatchObject({
        iss: auth.issuer,
        sub: 'user_alice',
        org_id: 'org_acme',
        client_id: provider.information?.client_id,
      });
      expect(String(claims.scope).split(' ')).not.toContain(FIXTURE_SCOPES.read);

      const created = await client.callTool({ name: 'docs_write', arguments: { title: 'first' } });
      expect(created).toMatchObject({ structuredContent: { organizationId: 'org_acme', title: 'first' } });

      // 2. Step-up: docs_read needs docs:read, which this token lacks -> 403 -> re-authorize.
      await expect(client.callTool({ name: 'docs_read', arguments: {} })).rejects.toBeInstanceOf(Unauthorized);
      const stepUp = provider.authorizations.at(-1)!;
      expect(stepUp).not.toBe(first);
      expect(stepUp.searchParams.get('scope')?.split(' ')).toEqual(
        expect.arrayContaining([FIXTURE_SCOPES.read, FIXTURE_SCOPES.write]),
      );
      await finishAuth(provider.takeCallback());
      expect(String(decodeJwt(provider.tokens()!.access_token).scope).split(' ')).toEqual(
        expect.arrayContaining([FIXTURE_SCOPES.read, FIXTURE_SCOPES.write]),
      );

      const listed = (await client.callTool({ name: 'docs_read', arguments: {} })) as {
        structuredContent: { titles: string[] };
      };
      expect(listed.structuredContent.titles).toContain('first');
    } finally {
      await client.close();
    }
  });
});

describe('tokens for another resource', () => {
  it('a token the same server minted for another resource is refused with 401', async () => {
    const other = await mintToken({
      issuer: auth.issuer,
      user: 'alice',
      resource: OTHER_RESOURCE,
      scope: `${FIXTURE_SCOPES.read} ${FIXTURE_SCOPES.write}`,
    });
    expect(decodeJwt(other.accessToken).aud).toBe(OTHER_RESOURCE);
    const response = await fetch(`${app.url}/mcp`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, authorization: `Bearer ${other.accessToken}` },
      body: rpc('tools/call', { name: 'echo', arguments: {} }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", error_description="The access token was not issued for this resource", resource_metadata="${app.url}/.well-known/oauth-protected-resource/mcp"`,
    );

    const mine = await mintToken({ issuer: auth.issuer, user: 'alice', resource, scope: FIXTURE_SCOPES.read });
    const ok = await fetch(`${app.url}/mcp`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, authorization: `Bearer ${mine.accessToken}` },
      body: rpc('tools/call', { name: 'echo', arguments: {} }),
    });
    expect(ok.status).toBe(200);
  });
});
