import { inputRequired } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry, defineTool, jsonResult } from '@/lib/registry';
import { MODERN_HEADERS, modernMeta, readRpc, TEST_REQUEST_STATE_KEY } from '../helpers/app';
import { ENDPOINT_RESOURCE, useEndpoint } from '../helpers/endpoint';

/**
 * What a sealed requestState is bound to beyond the user and the call (lib/endpoint/request-state.ts):
 * the organization the token names, this deployment's resource, and one spelling. And a requestState
 * that is not a string is recorded as a refused state. Each of these was accepted (or recorded as
 * allowed) before the bindings were added, with a fixture tool that asks before it runs.
 */
const OTHER_DEPLOYMENT = 'http://127.0.0.1:2/mcp';
const runs: string[] = [];

const registry = createRegistry([
  defineTool({
    name: 'confirm_op',
    access: { scopes: ['ops:run'], org: 'required' },
    title: 'Confirmed operation',
    description: 'Runs once the caller confirmed it.',
    input: z.object({ target: z.string() }),
    ask: async ({ target }, { input }) => {
      const sealed = z.object({ target: z.string() }).safeParse(input.state);
      if (sealed.success && sealed.data.target === target) return undefined;
      return input.ask(
        {
          confirm: inputRequired.elicit({
            message: `Run on ${target}?`,
            requestedSchema: z.object({ ok: z.boolean() }),
          }),
        },
        { target },
      );
    },
    handler: ({ target }, { principal }) => {
      runs.push(`${principal.organizationId}:${target}`);
      return jsonResult({ ran: target });
    },
  }),
]);

const endpoint = useEndpoint(
  registry,
  { MCP_REQUEST_STATE_KEY: TEST_REQUEST_STATE_KEY },
  { variants: { other: { MCP_RESOURCE_URL: OTHER_DEPLOYMENT } } },
);

const person = (org: string, aud = ENDPOINT_RESOURCE) =>
  endpoint.issuer.sign({ aud, sub: 'user_alice', client_id: 'client_1', org_id: org, scope: 'ops:run' });

type Rpc = { result?: Record<string, unknown>; error?: { code: number; message: string } };
let id = 1;
async function call(base: string, token: string, extra: Record<string, unknown> = {}): Promise<Rpc> {
  const meta = {
    ...modernMeta('bindings'),
    'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
  };
  const response = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: {
      ...MODERN_HEADERS,
      'mcp-method': 'tools/call',
      'mcp-name': 'confirm_op',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: id++,
      method: 'tools/call',
      params: { name: 'confirm_op', arguments: { target: 'db' }, ...extra, _meta: meta },
    }),
    signal: AbortSignal.timeout(10_000),
  });
  expect(response.status).toBe(200);
  return (await readRpc(response)) as Rpc;
}

async function sealedState(token: string): Promise<string> {
  const asked = await call(endpoint.server.url, token);
  expect(asked.result).toMatchObject({ resultType: 'input_required' });
  return String(asked.result?.requestState);
}

const answer = { confirm: { action: 'accept', content: { ok: true } } };
const FIXED = { code: -32602, message: 'Invalid or expired requestState' };

/** The records written from `mark` on whose reason names a request state. */
const stateRecords = (mark: number) =>
  endpoint.records.slice(mark).filter((r) => r.reason?.startsWith('request_state_') || r.tool === 'confirm_op');

describe('a sealed requestState', () => {
  it('runs the call when the same caller retries with it (the control)', async () => {
    const token = await person('org_a');
    const state = await sealedState(token);
    const before = runs.length;
    const retried = await call(endpoint.server.url, token, { requestState: state, inputResponses: answer });
    expect(retried.result).toMatchObject({ structuredContent: { ran: 'db' } });
    expect(runs.slice(before)).toEqual(['org_a:db']);
  });

  it('is refused for the same person in another organization', async () => {
    const state = await sealedState(await person('org_a'));
    const before = runs.length;
    const mark = endpoint.records.length;
    const replay = await call(endpoint.server.url, await person('org_b'), {
      requestState: state,
      inputResponses: answer,
    });
    expect(replay.error).toMatchObject(FIXED);
    expect(runs.slice(before)).toEqual([]);
    expect(stateRecords(mark)).toMatchObject([
      { decision: 'reject', reason: 'request_state_bind', org_id: 'org_b', outcome: 'not_run' },
    ]);
  });

  it('is refused by another deployment that shares the key', async () => {
    const state = await sealedState(await person('org_a'));
    const before = runs.length;
    const replay = await call(endpoint.variants.other.url, await person('org_a', OTHER_DEPLOYMENT), {
      requestState: state,
      inputResponses: answer,
    });
    expect(replay.error).toMatchObject(FIXED);
    expect(runs.slice(before)).toEqual([]);
  });

  it('has one spelling: a re-spelled MAC is refused as malformed', async () => {
    const token = await person('org_a');
    const state = await sealedState(token);
    const mac = state.slice(state.lastIndexOf('.') + 1);
    expect(mac).toHaveLength(43); // 32 bytes: the last character carries two unused bits
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(mac.at(-1) ?? '');
    const respelled = `${state.slice(0, -1)}${alphabet[last ^ 1]}`; // the same bytes, another string
    expect(respelled).not.toBe(state);
    const before = runs.length;
    const mark = endpoint.records.length;
    const replay = await call(endpoint.server.url, token, { requestState: respelled, inputResponses: answer });
    expect(replay.error).toMatchObject(FIXED);
    expect(runs.slice(before)).toEqual([]);
    expect(stateRecords(mark)).toMatchObject([{ decision: 'reject', reason: 'request_state_malformed' }]);
  });

  it.each([42, { v: 1 }, ['v1.a.b'], true])(
    'that is not a string (%j) is recorded as a refused state',
    async (state) => {
      const token = await person('org_a');
      const before = runs.length;
      const mark = endpoint.records.length;
      const replay = await call(endpoint.server.url, token, { requestState: state, inputResponses: answer });
      expect(replay.error).toMatchObject({ code: -32602 });
      expect(runs.slice(before)).toEqual([]);
      expect(stateRecords(mark)).toMatchObject([
        { decision: 'reject', reason: 'request_state_malformed', outcome: 'not_run', sub: 'user_alice' },
      ]);
    },
  );
});
