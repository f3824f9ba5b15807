import { readFile } from 'node:fs/promises';
import {
  Client,
  ClientCredentialsProvider,
  type ClientOptions,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { decodeJwt, importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEV_ENVIRONMENT_CLIENT_ID } from '@/lib/config';
import { type Approval, createRegistry, defineTool, jsonResult } from '@/lib/registry';
import type { MachineClient } from '../../scripts/local-auth/machines';
import { machineToken, mintToken } from '../../scripts/oauth-client/flow';
import { MCP_HEADERS, readRpc, rpc } from '../helpers/app';
import { type FixtureStack, startFixtureStack } from '../helpers/fixture-stack';

/**
 * Machines as callers, end to end: the real local authorization server issues WorkOS-shaped
 * machine tokens through the client_credentials grant (audience = the environment client id, no
 * `sid`, `sub` = the client id, the application's `org_id`), and the SDK's own
 * ClientCredentialsProvider gets them on a 401, on both protocol revisions. An approved machine
 * calls what machines may call and cannot see or reach a people-only tool; an unapproved or expired
 * one gets 403; tokens of people with the environment audience are refused; every decision is
 * audited with the caller kind and the client.
 */
const secret = () => crypto.randomUUID() + crypto.randomUUID();
const MACHINES: MachineClient[] = [
  { clientId: 'client_report_job', clientSecret: secret(), organizationId: 'org_acme', name: 'report job' },
  { clientId: 'client_retired_job', clientSecret: secret(), organizationId: 'org_acme', name: 'retired job' },
  { clientId: 'client_stranger', clientSecret: secret(), organizationId: 'org_globex', name: 'nobody approved it' },
];
const approvals: Approval[] = [
  {
    clientId: 'client_report_job',
    kind: 'machine',
    owner: 'data',
    purpose: 'report',
    scopes: ['docs:read'],
    expires: '2099-01-01',
  },
  {
    clientId: 'client_retired_job',
    kind: 'machine',
    owner: 'data',
    purpose: 'gone',
    scopes: ['docs:read'],
    expires: '2021-01-01',
  },
];

const ranFor: string[] = [];
const registry = createRegistry(
  [
    defineTool({
      name: 'docs_report',
      access: { scopes: ['docs:read'], org: 'required', callers: ['user', 'machine'] },
      title: 'Report',
      description: 'People and approved machines.',
      input: z.object({}),
      handler: (_input, { principal }) => {
        ranFor.push(principal.subject);
        return jsonResult({ organizationId: principal.organizationId, kind: principal.callerKind });
      },
    }),
    defineTool({
      name: 'docs_purge',
      access: { scopes: ['docs:read'], org: 'required' },
      title: 'Purge',
      description: 'People only.',
      input: z.object({}),
      handler: (_input, { principal }) => {
        ranFor.push(principal.subject);
        return jsonResult({ purged: true });
      },
    }),
  ],
  { approvals },
);

let stack: FixtureStack;
beforeAll(async () => {
  stack = await startFixtureStack({
    registry,
    env: { WORKOS_CLIENT_ID: DEV_ENVIRONMENT_CLIENT_ID },
    auth: { machineClients: MACHINES, environmentClientId: DEV_ENVIRONMENT_CLIENT_ID },
  });
});
afterAll(async () => stack?.close());

const machine = (clientId: string) => {
  const found = MACHINES.find((m) => m.clientId === clientId);
  if (!found) throw new Error(clientId);
  return found;
};

async function connect(clientId: string, versionNegotiation?: ClientOptions['versionNegotiation']) {
  const { clientSecret } = machine(clientId);
  const provider = new ClientCredentialsProvider({ clientId, clientSecret, expectedIssuer: stack.auth.issuer });
  const transport = new StreamableHTTPClientTransport(new URL(stack.resource), { authProvider: provider });
  const client = new Client(
    { name: 'machine-e2e', version: '1.0.0' },
    versionNegotiation ? { versionNegotiation } : {},
  );
  await client.connect(transport);
  return { client, provider };
}

const wires: Array<[string, ClientOptions['versionNegotiation'] | undefined]> = [
  ['2026-07-28', { mode: { pin: '2026-07-28' } }],
  ['2025-11-25', undefined],
];

describe.each(wires)('the SDK client-credentials provider on %s', (wire, negotiation) => {
  it('gets a WorkOS-shaped machine token on a 401 and calls what machines may call', async () => {
    const { client, provider } = await connect('client_report_job', negotiation);
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe(wire);
      const mark = stack.records.length;
      const result = await client.callTool({ name: 'docs_report', arguments: {} });
      expect(result).toMatchObject({ structuredContent: { organizationId: 'org_acme', kind: 'machine' } });
      const claims = decodeJwt(provider.tokens()?.access_token ?? '');
      expect(claims).toMatchObject({
        iss: stack.auth.issuer,
        aud: DEV_ENVIRONMENT_CLIENT_ID,
        sub: 'client_report_job',
        client_id: 'client_report_job',
        org_id: 'org_acme',
      });
      expect(claims.sid).toBeUndefined();
      expect(stack.records.slice(mark)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            tool: 'docs_report',
            decision: 'allow',
            outcome: 'ok',
            caller_kind: 'machine',
            client_id: 'client_report_job',
          }),
        ]),
      );
    } finally {
      await client.close();
    }
  });

  it('never lists a people-only tool to the machine and answers it like an unknown one', async () => {
    const { client } = await connect('client_report_job', negotiation);
    try {
      await client.callTool({ name: 'docs_report', arguments: {} }); // signs the machine in
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['docs_report']);
      const failure = async (name: string) => {
        try {
          const answer = await client.callTool({ name, arguments: {} });
          return JSON.stringify(answer).replaceAll(name, 'X');
        } catch (error) {
          return String(error instanceof Error ? error.message : error).replaceAll(name, 'X');
        }
      };
      const ran = ranFor.length;
      const mark = stack.records.length;
      expect(await failure('docs_purge')).toBe(await failure('no_such_tool'));
      expect(ranFor.slice(ran)).toEqual([]);
      expect(stack.records.slice(mark)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            tool: 'docs_purge',
            decision: 'deny',
            reason: 'caller_kind_not_allowed',
            caller_kind: 'machine',
            client_id: 'client_report_job',
          }),
        ]),
      );
    } finally {
      await client.close();
    }
  });

  it.each([
    ['client_retired_job', 'client_approval_expired'],
    ['client_stranger', 'client_not_allowed'],
  ])('refuses %s with 403 (%s), audited', async (clientId, reason) => {
    const { client } = await connect(clientId, negotiation);
    try {
      const ran = ranFor.length;
      const mark = stack.records.length;
      await expect(client.callTool({ name: 'docs_report', arguments: {} })).rejects.toThrow();
      expect(ranFor.slice(ran)).toEqual([]);
      expect(stack.records.slice(mark)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            decision: 'reject',
            reason,
            status: 403,
            caller_kind: 'machine',
            client_id: clientId,
          }),
        ]),
      );
    } finally {
      await client.close();
    }
  });
});

describe('over plain HTTP with the grant’s own tokens', () => {
  const post = async (token: string) => {
    const response = await fetch(stack.resource, {
      method: 'POST',
      headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
      body: rpc('tools/call', { name: 'docs_report', arguments: {} }),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: response.status, www: response.headers.get('www-authenticate'), body: await readRpc(response) };
  };

  it('answers an expired approval 403 with its reason', async () => {
    const { clientSecret } = machine('client_retired_job');
    const token = await machineToken({
      issuer: stack.auth.issuer,
      clientId: 'client_retired_job',
      clientSecret,
      resource: stack.resource,
      scope: 'docs:read',
    });
    const answer = await post(token.accessToken);
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatchObject({ data: { reason: 'client_approval_expired' } });
  });

  it('refuses a wrong client secret at the authorization server', async () => {
    await expect(
      machineToken({
        issuer: stack.auth.issuer,
        clientId: 'client_report_job',
        clientSecret: 'wrong',
        resource: stack.resource,
      }),
    ).rejects.toThrow(/invalid_client/);
  });

  it("calls as a person with a user flow's token, which names the resource and a session", async () => {
    const token = await mintToken({
      issuer: stack.auth.issuer,
      user: 'alice',
      org: 'org_acme',
      resource: stack.resource,
    });
    expect(decodeJwt(token.accessToken)).toMatchObject({ aud: stack.resource, sid: expect.any(String) });
    const answer = await post(token.accessToken);
    expect(answer.body.result).toMatchObject({ structuredContent: { kind: 'user' } });
  });

  it("refuses a person's token carrying the environment audience, even signed with the server's own key", async () => {
    const jwks = JSON.parse(await readFile(stack.keyFile, 'utf8')) as { keys: Array<Record<string, unknown>> };
    const jwk = jwks.keys[0] ?? {};
    const key = await importJWK(jwk, 'RS256');
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      sub: 'user_alice',
      client_id: 'client_someone',
      sid: 'consent_1',
      org_id: 'org_acme',
      scope: 'docs:read',
      jti: crypto.randomUUID(),
    })
      .setProtectedHeader({ alg: 'RS256', kid: String(jwk.kid), typ: 'at+jwt' })
      .setIssuer(stack.auth.issuer)
      .setAudience(DEV_ENVIRONMENT_CLIENT_ID)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(key);
    const answer = await post(token);
    expect(answer.status).toBe(401);
    expect(answer.www).toContain('error="invalid_token"');
  });
});
