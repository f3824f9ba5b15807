import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '@/scripts/oauth-client/flow';
import { LOCAL_WORKOS_API_KEY } from '@/scripts/local-auth/workos-api';
import { auditRecords, MCP_HEADERS, rpc } from '@/tests/helpers/app';
import { startStack, type Stack } from '@/tests/helpers/stack';

/**
 * Under concurrent mixed traffic (allowed, denied, challenged, rejected and failing calls) the
 * built app writes exactly one audit record per decision, each with the caller's identity, and no
 * token appears anywhere in what it printed.
 */
let stack: Stack;
const tokens: Record<'alice' | 'bob' | 'carol' | 'tampered', string> = { alice: '', bob: '', carol: '', tampered: '' };

beforeAll(async () => {
  stack = await startStack({ env: (auth) => ({ WORKOS_API_KEY: LOCAL_WORKOS_API_KEY, WORKOS_API_URL: auth.issuer }) });
  const mint = async (user: string, org: string, scope: string) =>
    (await mintToken({ issuer: stack.auth.issuer, user, org, resource: stack.resource, scope })).accessToken;
  tokens.alice = await mint('alice', 'org_acme', 'notes:read notes:write');
  tokens.bob = await mint('bob', 'org_acme', 'notes:read');
  tokens.carol = await mint('carol', 'org_globex', 'notes:read');
  const [header, payload, signature] = tokens.alice.split('.');
  const forged = Buffer.from(
    JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), org_id: 'org_globex' }),
  ).toString('base64url');
  tokens.tampered = `${header}.${forged}.${signature}`;
});
afterAll(async () => stack?.close());

type Kind = {
  name: string;
  token?: keyof typeof tokens;
  tool: string;
  args?: Record<string, unknown>;
  status: number;
  expect: Record<string, unknown>;
};

const KINDS: Kind[] = [
  {
    name: 'public, anonymous',
    tool: 'ping',
    status: 200,
    expect: { type: 'tool_call', tool: 'ping', decision: 'allow', outcome: 'ok' },
  },
  {
    name: 'sign-in challenge',
    tool: 'whoami',
    status: 401,
    expect: {
      type: 'tool_call',
      tool: 'whoami',
      decision: 'challenge',
      reason: 'authentication_required',
      status: 401,
      outcome: 'not_run',
    },
  },
  {
    name: 'step-up challenge',
    token: 'bob',
    tool: 'notes_create',
    args: { title: 't', body: 'b' },
    status: 403,
    expect: {
      type: 'tool_call',
      tool: 'notes_create',
      decision: 'challenge',
      reason: 'insufficient_scope',
      status: 403,
      sub: 'user_bob',
      org_id: 'org_acme',
    },
  },
  {
    name: 'role denied',
    token: 'bob',
    tool: 'org_members',
    status: 200,
    expect: { type: 'tool_call', tool: 'org_members', decision: 'deny', reason: 'role_required', sub: 'user_bob' },
  },
  {
    name: 'allowed',
    token: 'alice',
    tool: 'notes_list',
    status: 200,
    expect: {
      type: 'tool_call',
      tool: 'notes_list',
      decision: 'allow',
      outcome: 'ok',
      sub: 'user_alice',
      org_id: 'org_acme',
    },
  },
  {
    name: 'role allowed',
    token: 'carol',
    tool: 'org_members',
    status: 200,
    expect: {
      type: 'tool_call',
      tool: 'org_members',
      decision: 'allow',
      outcome: 'ok',
      sub: 'user_carol',
      org_id: 'org_globex',
    },
  },
  {
    name: 'failing tool',
    token: 'alice',
    tool: 'notes_delete',
    args: { id: 'no-such-note' },
    status: 200,
    expect: {
      type: 'tool_call',
      tool: 'notes_delete',
      decision: 'allow',
      outcome: 'tool_error',
      arguments: { id: 'no-such-note' },
    },
  },
  {
    name: 'invalid arguments',
    token: 'alice',
    tool: 'notes_create',
    args: { title: 42 },
    status: 200,
    expect: {
      type: 'tool_call',
      tool: 'notes_create',
      decision: 'allow',
      reason: 'invalid_arguments',
      status: 200,
      outcome: 'not_run',
    },
  },
  {
    name: 'rejected token',
    token: 'tampered',
    tool: 'ping',
    status: 401,
    expect: { type: 'request_rejected', decision: 'reject', reason: 'invalid_token', status: 401 },
  },
];
const ROUNDS = 25; // 9 kinds x 25 = 225 requests
const CONCURRENCY = 32;

describe('audit trail under concurrent mixed traffic', () => {
  it('has exactly one record per decision, with the right fields, and no token anywhere in the output', async () => {
    const before = auditRecords(stack.app.output()).length;
    const jobs = Array.from({ length: ROUNDS }, () => KINDS).flat();
    const statuses: Array<{ kind: Kind; status: number }> = [];
    let next = 0;
    const deadline = Date.now() + 60_000;
    const worker = async () => {
      while (next < jobs.length && Date.now() < deadline) {
        const kind = jobs[next++]!;
        const response = await fetch(`${stack.app.url}/mcp`, {
          method: 'POST',
          headers: { ...MCP_HEADERS, ...(kind.token ? { authorization: `Bearer ${tokens[kind.token]}` } : {}) },
          body: rpc('tools/call', { name: kind.tool, arguments: kind.args ?? {} }),
          signal: AbortSignal.timeout(15_000),
        });
        await response.arrayBuffer();
        statuses.push({ kind, status: response.status });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(statuses).toHaveLength(jobs.length);
    for (const { kind, status } of statuses) expect(status, kind.name).toBe(kind.status);

    // Records are written before each response is sent; allow stdout a moment to drain through the pipe.
    let records = auditRecords(stack.app.output()).slice(before);
    for (let i = 0; i < 50 && records.length < jobs.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      records = auditRecords(stack.app.output()).slice(before);
    }
    expect(records).toHaveLength(jobs.length);
    expect(new Set(records.map((r) => r.requestId)).size).toBe(jobs.length);

    for (const kind of KINDS) {
      const matching = records.filter((r) =>
        Object.entries(kind.expect).every(([key, value]) => JSON.stringify(r[key]) === JSON.stringify(value)),
      );
      expect(matching, kind.name).toHaveLength(ROUNDS);
      for (const record of matching) {
        expect(typeof record.time).toBe('string');
        expect(record.status, kind.name).toBe(kind.status);
        expect(typeof record.durationMs, kind.name).toBe('number');
        if (kind.token && kind.token !== 'tampered') {
          expect(record, kind.name).toMatchObject({
            client_id: expect.any(String),
            jti: expect.any(String),
            sid: expect.any(String),
            scopes: expect.any(Array),
          });
        }
      }
    }

    const output = stack.app.output();
    for (const [name, token] of Object.entries(tokens)) {
      expect(output.includes(token), `${name} token in output`).toBe(false);
      expect(output.includes(token.split('.')[2]!), `${name} signature in output`).toBe(false);
    }
    expect(output).not.toMatch(/authorization/i);
  });
});
