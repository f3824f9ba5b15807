import {
  Client,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type AuthProvider,
  type ClientOptions,
  type OAuthClientProvider,
} from '@modelcontextprotocol/client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken, type TokenSet } from '@/scripts/oauth-client/flow';
import { auditRecords } from '@/tests/helpers/app';
import { SignInAsProvider } from '@/tests/helpers/oauth-client';
import { startStack, type Stack } from '@/tests/helpers/stack';

/**
 * Scope hierarchies (SEP-2350) end to end: the local authorization server issues a token whose
 * only resource scope is `notes:admin` (tools/scopes.ts: it implies notes:read and notes:write),
 * through the real authorization code flow, and that token lists and calls the tools needing
 * those scopes through the built app (next start), with the v2 client on both wires. And a
 * step-up challenge never asks for `offline_access` (SEP-2207), even for a client that asked
 * the authorization server for it.
 */
let stack: Stack;
let admin: TokenSet;

beforeAll(async () => {
  stack = await startStack();
  admin = await mintToken({
    issuer: stack.auth.issuer,
    user: 'alice',
    org: 'org_acme',
    resource: stack.resource,
    scope: 'notes:admin',
  });
});
afterAll(async () => stack?.close());

const WIRES: Array<{ name: string; versionNegotiation?: ClientOptions['versionNegotiation'] }> = [
  { name: '2026-07-28 (pinned)', versionNegotiation: { mode: { pin: '2026-07-28' } } },
  { name: '2025-11-25 (legacy)' },
];

const scopesOf = (token: string): string[] => String(decodeJwt(token).scope).split(' ');

type Seen = { method: string; url: string; status: number; challenge: string | null };

async function connect(
  authProvider: AuthProvider | OAuthClientProvider,
  versionNegotiation: ClientOptions['versionNegotiation'] | undefined,
) {
  const seen: Seen[] = [];
  const recording = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const response = await fetch(request);
    seen.push({
      method: request.method,
      url: request.url,
      status: response.status,
      challenge: response.headers.get('www-authenticate'),
    });
    return response;
  };
  const transport = new StreamableHTTPClientTransport(new URL(stack.resource), { authProvider, fetch: recording });
  const client = new Client(
    { name: 'scope-hierarchy-e2e', version: '1.0.0' },
    versionNegotiation ? { versionNegotiation } : {},
  );
  await client.connect(transport);
  return { client, transport, seen };
}

describe('a notes:admin token from the local authorization server', () => {
  it('carries notes:admin and none of the scopes it implies', () => {
    expect(scopesOf(admin.accessToken)).toEqual(['notes:admin']);
    expect(decodeJwt(admin.accessToken)).toMatchObject({
      iss: stack.auth.issuer,
      aud: stack.resource,
      sub: 'user_alice',
    });
  });
});

describe.each(WIRES)('v2 client, $name wire', ({ name, versionNegotiation }) => {
  it('with the notes:admin token, lists and calls notes_create (notes:write) and notes_list (notes:read)', async () => {
    const { client, seen } = await connect({ token: async () => admin.accessToken }, versionNegotiation);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['notes_create', 'notes_list']));

      const title = `admin via ${name}`;
      const before = auditRecords(stack.app.output()).length;
      const created = await client.callTool({ name: 'notes_create', arguments: { title, body: 'x' } });
      expect(created).toMatchObject({ structuredContent: { organizationId: 'org_acme', note: { title } } });
      const listed = (await client.callTool({ name: 'notes_list', arguments: {} })) as {
        structuredContent: { notes: Array<{ title: string }> };
      };
      expect(listed.structuredContent.notes.map((n) => n.title)).toContain(title);

      // Every JSON-RPC POST succeeded (the legacy client's GET for a standalone stream gets a 405).
      expect(seen.filter((s) => s.method === 'POST' && s.status !== 200 && s.status !== 202)).toEqual([]);
      expect(auditRecords(stack.app.output()).slice(before)).toMatchObject([
        { type: 'tool_call', tool: 'notes_create', decision: 'allow', outcome: 'ok', scopes: ['notes:admin'] },
        { type: 'tool_call', tool: 'notes_list', decision: 'allow', outcome: 'ok', scopes: ['notes:admin'] },
      ]);
    } finally {
      await client.close();
    }
  });

  it('a notes:read token calling notes_create gets a step-up challenge without offline_access', async () => {
    const provider = new SignInAsProvider('alice', 'org_acme');
    const { client, transport, seen } = await connect(provider, versionNegotiation);
    try {
      // Sign in for notes_list: the client asks for notes:read (and, on its own, offline_access).
      await expect(client.callTool({ name: 'notes_list', arguments: {} })).rejects.toBeInstanceOf(UnauthorizedError);
      await transport.finishAuth(provider.takeCallback().searchParams);
      const granted = scopesOf(provider.tokens()!.access_token);
      expect(granted).toContain('notes:read');
      expect(granted).not.toContain('notes:write');
      // The client asked for a refresh token; the authorization server keeps it out of the token's scope.
      expect(provider.authorizations[0]?.searchParams.get('scope')?.split(' ')).toContain('offline_access');

      const sent = seen.length;
      await expect(
        client.callTool({ name: 'notes_create', arguments: { title: 'step-up', body: 'x' } }),
      ).rejects.toBeInstanceOf(UnauthorizedError);
      const refusals = seen.slice(sent).filter((s) => s.url === stack.resource && s.status === 403);
      expect(refusals).toHaveLength(1);
      const challenge = refusals[0]!.challenge ?? '';
      expect(challenge).toMatch(/^Bearer error="insufficient_scope"/);
      const asked = /scope="([^"]*)"/.exec(challenge)?.[1]?.split(' ') ?? [];
      expect(asked).toEqual(expect.arrayContaining(['notes:read', 'notes:write']));
      expect(asked).not.toContain('offline_access');

      // The step-up succeeds with what the challenge asked for.
      await transport.finishAuth(provider.takeCallback().searchParams);
      const created = await client.callTool({ name: 'notes_create', arguments: { title: 'step-up', body: 'x' } });
      expect(created).toMatchObject({ structuredContent: { note: { title: 'step-up' } } });
    } finally {
      await client.close();
    }
  });
});
