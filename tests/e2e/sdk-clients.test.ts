import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
  type ClientOptions,
} from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditRecords } from '../helpers/app';
import { useAppWithIssuer } from '../helpers/app-with-issuer';
import { registry } from '@/tools';

/**
 * Real MCP SDK clients over HTTP against the built app, on both protocol revisions: the v2 client
 * pinned to 2026-07-28 (stateless, `server/discover`, `_meta` on every request), in `auto` (it
 * probes and picks 2026-07-28 here), and in its default legacy mode (2025-11-25 `initialize`), and
 * the v1 client (2025-11-25). Nothing here is hand-written JSON-RPC.
 */
const stack = useAppWithIssuer();
let endpoint: URL;

beforeAll(() => {
  endpoint = new URL(stack.endpoint);
});

const tokenFor = () =>
  stack.issuer.sign({
    aud: endpoint.toString(),
    sub: 'user_alice',
    org_id: 'org_acme',
    client_id: 'client_sdk',
    scope: 'openid profile',
  });

type AnyClient = {
  /** The revision the client and server settled on (v2: the client's own answer; v1: its transport's header value). */
  negotiated(): string | undefined;
  connect(transport: never): Promise<void>;
  listTools(): Promise<{ tools: Array<{ name: string }> }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
};

type Generation = [
  name: string,
  connect: (headers?: Record<string, string>) => Promise<AnyClient>,
  wire: '2026-07-28' | '2025-11-25',
];

function v2(versionNegotiation: ClientOptions['versionNegotiation']): Generation[1] {
  return async (headers) => {
    const client = new ClientV2({ name: 'e2e-v2', version: '1.0.0' }, versionNegotiation ? { versionNegotiation } : {});
    await client.connect(new TransportV2(endpoint, { requestInit: { headers } }));
    return Object.assign(client, { negotiated: () => client.getNegotiatedProtocolVersion() }) as unknown as AnyClient;
  };
}

const generations: Generation[] = [
  ['v2 @modelcontextprotocol/client pinned to 2026-07-28', v2({ mode: { pin: '2026-07-28' } }), '2026-07-28'],
  ['v2 @modelcontextprotocol/client in auto', v2({ mode: 'auto' }), '2026-07-28'],
  ['v2 @modelcontextprotocol/client in legacy (its default)', v2(undefined), '2025-11-25'],
  [
    'v1 @modelcontextprotocol/sdk',
    async (headers) => {
      const client = new ClientV1({ name: 'e2e-v1', version: '1.0.0' });
      const transport = new TransportV1(endpoint, { requestInit: { headers } });
      await client.connect(transport);
      return Object.assign(client, { negotiated: () => transport.protocolVersion }) as unknown as AnyClient;
    },
    '2025-11-25',
  ],
];

describe.each(generations)('%s', (_name, connect, wire) => {
  it(`speaks ${wire} to the server`, async () => {
    const client = await connect();
    try {
      expect(await client.callTool({ name: 'ping', arguments: {} })).toMatchObject({
        structuredContent: { pong: true },
      });
      expect(client.negotiated()).toBe(wire);
    } finally {
      await client.close();
    }
  });

  it('a tool the caller can never reach answers exactly like an unknown tool, and each decision is audited once', async () => {
    const token = await tokenFor();
    const client = await connect({ authorization: `Bearer ${token}` });
    const before = auditRecords(stack.app.output()).length;
    let hidden: unknown;
    let unknown: unknown;
    try {
      // No WorkOS keys in this app: org_members (role admin) is unreachable for every signed-in caller.
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).not.toContain('org_members');
      hidden = await client.callTool({ name: 'org_members', arguments: {} }).then(
        (r) => ({ result: r }),
        (e: unknown) => ({ error: { ...(e as object), message: (e as Error).message } }),
      );
      unknown = await client.callTool({ name: 'no_such_tool', arguments: {} }).then(
        (r) => ({ result: r }),
        (e: unknown) => ({ error: { ...(e as object), message: (e as Error).message } }),
      );
    } finally {
      await client.close();
    }
    expect(hidden).toMatchObject({ error: { code: -32602 } });
    expect(JSON.stringify(hidden).replaceAll('org_members', 'X')).toBe(
      JSON.stringify(unknown).replaceAll('no_such_tool', 'X'),
    );
    // The trail keeps the true reason, once, with the caller's identity.
    const records = auditRecords(stack.app.output())
      .slice(before)
      .filter((r) => r.tool === 'org_members');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      decision: 'deny',
      reason: 'identity_lookup_not_configured',
      sub: 'user_alice',
      org_id: 'org_acme',
      client_id: 'client_sdk',
    });
  });

  it('connects anonymously, lists tools and calls ping', async () => {
    const client = await connect();
    try {
      const { tools } = await client.listTools();
      // Private tools are listed for anonymous callers: signing in reaches them.
      expect(tools.map((t) => t.name).sort()).toEqual(registry.tools.map((t) => t.name).sort());
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
        structuredContent: {
          subject: 'user_alice',
          organizationId: 'org_acme',
          clientId: 'client_sdk',
          scopes: ['openid', 'profile'],
        },
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
    expect(stack.app.output()).toMatch(
      /"tool":"whoami","policy":"signed-in","decision":"challenge","reason":"authentication_required","status":401/,
    );
  });
});
