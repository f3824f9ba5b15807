import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../helpers/app';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';

/**
 * Real MCP SDK clients (v2 and v1) over HTTP against the built app. Nothing here is hand-written
 * JSON-RPC: the clients negotiate the protocol themselves (v2 speaks 2026-07-28, v1 the 2025 era).
 */
let issuer: TestIssuer;
let app: RunningApp;
let endpoint: URL;

beforeAll(async () => {
  issuer = await startTestIssuer();
  app = await startApp({ AUTHKIT_DOMAIN: issuer.issuer });
  endpoint = new URL(`${app.url}/mcp`);
});
afterAll(async () => {
  await app?.stop();
  await issuer?.close();
});

const tokenFor = () =>
  issuer.sign({ aud: endpoint.toString(), sub: 'user_alice', org_id: 'org_acme', client_id: 'client_sdk', scope: 'openid profile' });

type AnyClient = {
  connect(transport: never): Promise<void>;
  listTools(): Promise<{ tools: Array<{ name: string }> }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
};

const generations: Array<[string, (headers?: Record<string, string>) => Promise<AnyClient>]> = [
  [
    'v2 @modelcontextprotocol/client',
    async (headers) => {
      const client = new ClientV2({ name: 'e2e-v2', version: '1.0.0' });
      await client.connect(new TransportV2(endpoint, { requestInit: { headers } }));
      return client as unknown as AnyClient;
    },
  ],
  [
    'v1 @modelcontextprotocol/sdk',
    async (headers) => {
      const client = new ClientV1({ name: 'e2e-v1', version: '1.0.0' });
      await client.connect(new TransportV1(endpoint, { requestInit: { headers } }));
      return client as unknown as AnyClient;
    },
  ],
];

describe.each(generations)('%s', (_name, connect) => {
  it('connects anonymously, lists tools and calls ping', async () => {
    const client = await connect();
    try {
      const { tools } = await client.listTools();
      // Private tools are listed for anonymous callers: signing in reaches them.
      expect(tools.map((t) => t.name).sort()).toEqual(['notes_create', 'notes_delete', 'notes_list', 'org_members', 'ping', 'whoami']);
      const result = await client.callTool({ name: 'ping', arguments: { message: 'hi' } });
      expect(result).toMatchObject({ structuredContent: { pong: true, message: 'hi' } });
    } finally {
      await client.close();
    }
  });

  it('calls whoami with a token and gets the verified identity, never the token', async () => {
    const token = await tokenFor();
    const client = await connect({ authorization: `Bearer ${token}` });
    try {
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      expect(result).toMatchObject({
        structuredContent: { subject: 'user_alice', organizationId: 'org_acme', clientId: 'client_sdk', scopes: ['openid', 'profile'] },
      });
      expect(JSON.stringify(result)).not.toContain(token);
    } finally {
      await client.close();
    }
  });

  it('an anonymous whoami call is refused by the HTTP layer (401), not run', async () => {
    const client = await connect();
    try {
      await expect(client.callTool({ name: 'whoami', arguments: {} })).rejects.toThrow(/Authentication required/);
    } finally {
      await client.close();
    }
    expect(app.output()).toMatch(/"tool":"whoami","policy":"signed-in","decision":"challenge","reason":"authentication_required","status":401/);
  });
});
