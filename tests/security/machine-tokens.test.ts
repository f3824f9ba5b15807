import type { JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Access } from '@/lib/policy';
import type { AuditRecord } from '@/lib/audit/record';
import { CLIENT_CREDENTIALS_EXTENSION } from '@/lib/endpoint/dispatch';
import { type Approval, createRegistry, defineTool, jsonResult } from '@/lib/registry';
import { MCP_HEADERS, MODERN_HEADERS, modernMeta, readRpc, rpc } from '../helpers/app';
import { ENDPOINT_RESOURCE, useEndpoint } from '../helpers/endpoint';

/**
 * Callers that are not people, against the in-process endpoint with tokens shaped as WorkOS issues
 * them: a machine's (client credentials: no `sid`, `sub` = `client_id`, `aud` = the environment
 * client id), an agent's (`sub_profile`, `act`), a person's. What each may call, what it sees, how a
 * token of no kind, a sender-constrained token or a confused audience is refused, the approvals'
 * 403s, and the audit record of each decision with its caller kind and client.
 */
const ENV_CLIENT = 'client_env_test';

const tool = (name: string, access: unknown) =>
  defineTool({
    name,
    title: name,
    description: name,
    access: access as Access,
    input: z.object({}),
    handler: (_input, { principal }) =>
      jsonResult({ ran: name, kind: principal.kind === 'user' ? principal.callerKind : 'anonymous' }),
  });

const approvals: Approval[] = [
  {
    clientId: 'client_job',
    kind: 'machine',
    owner: 'ops',
    purpose: 'report',
    scopes: ['docs:read'],
    expires: '2099-01-01',
  },
  {
    clientId: 'client_old',
    kind: 'machine',
    owner: 'ops',
    purpose: 'retired',
    scopes: ['docs:read'],
    expires: '2020-01-01',
  },
  {
    clientId: 'client_agents',
    kind: 'agent',
    owner: 'ai',
    purpose: 'triage',
    scopes: ['docs:read'],
    expires: '2099-01-01',
  },
];

const registry = createRegistry(
  [
    tool('echo', 'public'),
    tool('my_profile', 'signed-in'),
    tool('report', { scopes: ['docs:read'], org: 'required', callers: ['user', 'machine'] }),
    tool('purge', { scopes: ['docs:read'], org: 'required' }),
    tool('triage', { scopes: ['docs:read'], callers: ['agent'] }),
  ],
  { approvals },
);

const endpoint = useEndpoint(
  registry,
  { WORKOS_CLIENT_ID: ENV_CLIENT },
  { variants: { extra: { AUTH_EXTRA_AUDIENCES: ENV_CLIENT } } },
);

const machine = (clientId: string, claims: JWTPayload = {}) =>
  endpoint.issuer.sign({
    aud: ENV_CLIENT,
    sub: clientId,
    client_id: clientId,
    org_id: 'org_partner',
    scope: 'docs:read',
    sid: undefined,
    ...claims,
  });
const person = (claims: JWTPayload = {}) =>
  endpoint.issuer.sign({
    aud: ENDPOINT_RESOURCE,
    sub: 'user_alice',
    client_id: 'client_app',
    org_id: 'org_a',
    scope: 'docs:read',
    ...claims,
  });
const agent = (claims: JWTPayload = {}) =>
  endpoint.issuer.sign({
    aud: ENDPOINT_RESOURCE,
    sub: 'agent_7',
    client_id: 'client_agents',
    sub_profile: 'agent',
    act: { sub: 'user_alice' },
    scope: 'docs:read',
    sid: undefined,
    ...claims,
  });

type Answer = { status: number; body: Record<string, unknown>; www: string | null };
async function post(body: string, token?: string, base = endpoint.server.url): Promise<Answer> {
  const response = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, www: response.headers.get('www-authenticate'), body: await readRpc(response) };
}
const callTool = (name: string, token?: string, base?: string) =>
  post(rpc('tools/call', { name, arguments: {} }), token, base);
const listed = async (token?: string) =>
  ((await post(rpc('tools/list'), token)).body.result as { tools: Array<{ name: string }> }).tools.map((t) => t.name);
const recordsSince = (mark: number): AuditRecord[] => endpoint.records.slice(mark);

describe('an approved machine', () => {
  it('lists and calls what machines may call, and nothing people-only', async () => {
    const token = await machine('client_job');
    expect(await listed(token)).toEqual(['echo', 'report']);
    const mark = endpoint.records.length;
    const ran = await callTool('report', token);
    expect(ran.status).toBe(200);
    expect(ran.body.result).toMatchObject({ structuredContent: { ran: 'report', kind: 'machine' } });
    expect(recordsSince(mark)).toMatchObject([
      {
        tool: 'report',
        decision: 'allow',
        outcome: 'ok',
        caller_kind: 'machine',
        sub: 'client_job',
        client_id: 'client_job',
        org_id: 'org_partner',
      },
    ]);
  });

  it.each(['purge', 'my_profile', 'triage'])(
    'is answered for %s exactly as for a tool that does not exist',
    async (name) => {
      const token = await machine('client_job');
      const unknown = await callTool('no_such_tool', token);
      const mark = endpoint.records.length;
      const hidden = await callTool(name, token);
      expect(hidden.status).toBe(unknown.status);
      expect(JSON.stringify(hidden.body).replaceAll(name, 'X')).toBe(
        JSON.stringify(unknown.body).replaceAll('no_such_tool', 'X'),
      );
      expect(recordsSince(mark)).toMatchObject([
        {
          tool: name,
          decision: 'deny',
          reason: 'caller_kind_not_allowed',
          outcome: 'not_run',
          caller_kind: 'machine',
          client_id: 'client_job',
        },
      ]);
    },
  );

  it('may also name this resource as its audience', async () => {
    expect((await callTool('report', await machine('client_job', { aud: ENDPOINT_RESOURCE }))).status).toBe(200);
  });
});

describe('client approvals', () => {
  it.each([
    ['an unlisted machine', () => machine('client_stranger'), 'client_not_allowed'],
    ['an expired machine', () => machine('client_old'), 'client_approval_expired'],
    [
      'a machine past its scope ceiling',
      () => machine('client_job', { scope: 'docs:read docs:write' }),
      'client_scope_ceiling',
    ],
    ['a machine-shaped token of an agent client', () => machine('client_agents'), 'client_kind_mismatch'],
    [
      'a machine-shaped token from a client people sign in with',
      () => machine('client_app', { aud: ENDPOINT_RESOURCE }),
      'client_not_allowed',
    ],
  ])('refuse %s with 403 and its reason, audited with kind and client', async (_name, token, reason) => {
    const mark = endpoint.records.length;
    const answer = await callTool('echo', await token());
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatchObject({ data: { reason } });
    expect(JSON.stringify(answer.body)).not.toMatch(/client_(stranger|old|agents|app)\b/);
    expect(recordsSince(mark)).toMatchObject([
      { type: 'request_rejected', decision: 'reject', reason, status: 403, caller_kind: 'machine' },
    ]);
  });

  it("let a person's dynamically registered client in while no interactive client is listed", async () => {
    expect((await callTool('my_profile', await person())).status).toBe(200);
  });
});

describe('audiences', () => {
  it("refuse a person's token that carries only the environment audience", async () => {
    const mark = endpoint.records.length;
    const answer = await callTool('echo', await person({ aud: ENV_CLIENT }));
    expect(answer.status).toBe(401);
    expect(answer.www).toContain(
      'error="invalid_token", error_description="The access token was not issued for this resource"',
    );
    expect(recordsSince(mark)).toMatchObject([{ type: 'request_rejected', reason: 'invalid_token', status: 401 }]);
  });

  it("accept a person's token with that audience only where AUTH_EXTRA_AUDIENCES says so", async () => {
    expect((await callTool('my_profile', await person({ aud: ENV_CLIENT }), endpoint.variants.extra.url)).status).toBe(
      200,
    );
  });

  it('refuse an ID token shaped like a machine token on the environment audience', async () => {
    const answer = await callTool('echo', await machine('client_job', { nonce: 'n' }));
    expect(answer.status).toBe(401);
    expect(answer.www).toContain('The token is not an access token');
  });

  it("refuse an agent's token on the environment audience", async () => {
    expect((await callTool('echo', await agent({ aud: ENV_CLIENT }))).status).toBe(401);
  });
});

describe('tokens of no kind', () => {
  it.each([
    ['a token without sid whose subject is not its client', () => person({ sid: undefined }), 'token_unclassifiable'],
    [
      'a session token whose subject is its client',
      () => machine('client_job', { sid: 's', aud: ENDPOINT_RESOURCE }),
      'token_unclassifiable',
    ],
    ['a DPoP-bound token', () => person({ cnf: { jkt: 'thumbprint' } }), 'token_sender_constrained'],
    [
      'a DPoP-bound machine token',
      () => machine('client_job', { cnf: { jkt: 'thumbprint' } }),
      'token_sender_constrained',
    ],
    ['an act claim without a subject', () => person({ act: { client_id: 'x' } }), 'token_invalid_actor'],
  ])('refuse %s with 401 invalid_token, even on a public tool, audited', async (_name, token, reason) => {
    const mark = endpoint.records.length;
    const answer = await callTool('echo', await token());
    expect(answer.status).toBe(401);
    expect(answer.www).toMatch(/^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="/);
    expect(answer.body.error).toMatchObject({ data: { reason: 'invalid_token' } });
    expect(recordsSince(mark)).toMatchObject([{ type: 'request_rejected', reason, status: 401 }]);
  });
});

describe('an approved agent', () => {
  it('calls what agents may call, recorded with the actor chain', async () => {
    const token = await agent();
    expect(await listed(token)).toEqual(['echo', 'triage']);
    const mark = endpoint.records.length;
    expect((await callTool('triage', token)).body.result).toMatchObject({ structuredContent: { kind: 'agent' } });
    expect(recordsSince(mark)).toMatchObject([
      {
        tool: 'triage',
        decision: 'allow',
        caller_kind: 'agent',
        sub: 'agent_7',
        act: ['user_alice'],
        client_id: 'client_agents',
      },
    ]);
  });
});

describe('server/discover', () => {
  const discover = async (base: string) => {
    const response = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { ...MODERN_HEADERS, 'mcp-method': 'server/discover' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'server/discover',
        params: { _meta: modernMeta('discover') },
      }),
      signal: AbortSignal.timeout(10_000),
    });
    return (await readRpc(response)).result as { capabilities: { extensions?: Record<string, unknown> } };
  };
  const peopleOnly = useEndpoint(createRegistry([tool('my_profile', 'signed-in')]), { WORKOS_CLIENT_ID: ENV_CLIENT });

  it('advertises the client-credentials extension when a primitive admits machines, and only then', async () => {
    expect((await discover(endpoint.server.url)).capabilities.extensions).toEqual({
      [CLIENT_CREDENTIALS_EXTENSION]: {},
    });
    expect((await discover(peopleOnly.server.url)).capabilities.extensions).toBeUndefined();
  });
});

describe('without WORKOS_CLIENT_ID', () => {
  const unnamed = useEndpoint(registry);
  it('refuses every machine token on the environment audience', async () => {
    const token = await unnamed.issuer.sign({
      aud: ENV_CLIENT,
      sub: 'client_job',
      client_id: 'client_job',
      org_id: 'o',
      scope: 'docs:read',
      sid: undefined,
    });
    const answer = await callTool('report', token, unnamed.server.url);
    expect(answer.status).toBe(401);
    expect(answer.www).toContain('not issued for this resource');
  });
});
