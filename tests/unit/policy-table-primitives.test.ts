import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AuditRecord } from '@/lib/audit/record';
import { loadConfig, type Config } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import type { Access } from '@/lib/policy';
import { createRegistry, definePrompt, defineResource } from '@/lib/registry';
import { MCP_HEADERS, MODERN_HEADERS, modernMeta, readRpc } from '../helpers/app';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';
import { serveFetchHandler, type Listening } from '../helpers/net';
import { CALLER_NAMES, CALLERS, type CallerName, POLICIES, RESOURCE, TABLE, TOOL_NAMES } from '../helpers/policy-table';

/**
 * The policy table (tests/helpers/policy-table.ts) for resources, prompts and completions, on both
 * wires: a resource template and a prompt per policy kind (and the completion of that prompt's
 * argument) must answer every (policy, caller) cell exactly as the tool of that policy does: the
 * same status and WWW-Authenticate, the handler run or not, listed or not, and a hidden one
 * byte-identical to an unknown one. Plus: one audit record per call, with the caller.
 */

const runs = new Map<string, number>();
const ran = (key: string) => runs.set(key, (runs.get(key) ?? 0) + 1);
const fixture = createRegistry(
  TOOL_NAMES.flatMap((name) => [
    defineResource({
      name: `${name.replaceAll('_', '-')}`,
      uri: `fixture://${name}/{id}`,
      title: name,
      description: `fixture: ${name}`,
      access: POLICIES[name] as Access,
      read: (uri) => {
        ran(`resource:${name}`);
        return { contents: [{ uri: uri.href, text: `ran ${name}` }] };
      },
    }),
    definePrompt({
      name,
      title: name,
      description: `fixture: ${name}`,
      access: POLICIES[name] as Access,
      arguments: z.object({ topic: z.string().optional() }),
      complete: { topic: (value) => (ran(`completion:${name}`), [`ran ${name} ${value}`]) },
      handler: () => {
        ran(`prompt:${name}`);
        return { messages: [{ role: 'user', content: { type: 'text', text: `ran ${name}` } }] };
      },
    }),
  ]),
);

type Wire = 'legacy' | 'modern';
let issuer: TestIssuer;
let server: Listening;
const tokens = new Map<CallerName, string | undefined>();
const audit: AuditRecord[] = [];

beforeAll(async () => {
  issuer = await startTestIssuer();
  const config: Config = loadConfig({
    NODE_ENV: 'production',
    AUTHKIT_DOMAIN: issuer.issuer,
    MCP_RESOURCE_URL: RESOURCE,
  });
  server = await serveFetchHandler(
    createMcpEndpoint({ registry: fixture, config: () => config, auditLine: (record) => audit.push(record) }),
  );
  for (const caller of CALLER_NAMES) {
    const claims = CALLERS[caller];
    tokens.set(
      caller,
      claims
        ? await issuer.sign({ aud: RESOURCE, sub: `user_${caller}`, client_id: 'client_1', ...claims })
        : undefined,
    );
  }
});
afterAll(async () => {
  await Promise.all([server?.close(), issuer?.close()]);
});

async function post(wire: Wire, caller: CallerName, method: string, params: Record<string, unknown>, name?: string) {
  const bearer = tokens.get(caller);
  const modern = wire === 'modern';
  return fetch(`${server.url}/mcp`, {
    method: 'POST',
    headers: {
      ...(modern ? MODERN_HEADERS : MCP_HEADERS),
      ...(modern && { 'mcp-method': method, ...(name !== undefined && { 'mcp-name': name }) }),
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 42,
      method,
      params: { ...params, ...(modern && { _meta: modernMeta('policy-table') }) },
    }),
    signal: AbortSignal.timeout(10_000),
  });
}

type Kind = 'resource' | 'prompt' | 'completion';
function request(kind: Kind, name: string): { method: string; params: Record<string, unknown>; name?: string } {
  switch (kind) {
    case 'resource':
      return { method: 'resources/read', params: { uri: `fixture://${name}/1` }, name: `fixture://${name}/1` };
    case 'prompt':
      return { method: 'prompts/get', params: { name, arguments: {} }, name };
    case 'completion':
      // Completion of the prompt's argument: gated and listed exactly like the prompt.
      return {
        method: 'completion/complete',
        params: { ref: { type: 'ref/prompt', name }, argument: { name: 'topic', value: 'x' } },
      };
  }
}

async function observe(wire: Wire, kind: Kind, caller: CallerName, name: string) {
  const key = `${kind}:${name}`;
  const before = runs.get(key) ?? 0;
  const call = request(kind, name);
  const recordsBefore = audit.length;
  const response = await post(wire, caller, call.method, call.params, call.name);
  const body = await readRpc(response);
  return {
    status: response.status,
    www: response.headers.get('www-authenticate'),
    body,
    ran: (runs.get(key) ?? 0) > before,
    records: audit.slice(recordsBefore).filter((r) => r.method === call.method),
  };
}

async function listed(wire: Wire, kind: Kind, caller: CallerName): Promise<string[]> {
  const method = kind === 'resource' ? 'resources/templates/list' : 'prompts/list';
  const response = await post(wire, caller, method, {});
  expect(response.status).toBe(200);
  const result = (await readRpc(response)).result as Record<string, Array<{ name: string; uriTemplate?: string }>>;
  return kind === 'resource'
    ? (result.resourceTemplates ?? []).map((t) => (t.uriTemplate ?? '').split('/')[2] ?? '')
    : (result.prompts ?? []).map((p) => p.name);
}

describe.each(['legacy', 'modern'] as const)('%s wire', (wire) => {
  describe.each(['resource', 'prompt', 'completion'] as const)('%s', (kind) => {
    it.each(TABLE)(`$tool / $caller -> $status (ran: $ran, listed: $listed, $as)`, async (row) => {
      const observed = await observe(wire, kind, row.caller, row.tool);
      expect(observed.ran, 'handler ran').toBe(row.ran);
      expect(observed.www, 'WWW-Authenticate').toBe(row.www);
      expect((await listed(wire, kind, row.caller)).includes(row.tool), 'listed').toBe(row.listed);
      // Exactly one audit record for the call, naming the caller when there is one.
      expect(observed.records).toHaveLength(1);
      expect(observed.records[0]?.sub).toBe(CALLERS[row.caller] ? `user_${row.caller}` : undefined);
      switch (row.as) {
        case 'result':
          expect(observed.status).toBe(200);
          expect(JSON.stringify(observed.body.result)).toContain(`ran ${row.tool}`);
          expect(observed.records[0]).toMatchObject({ decision: 'allow', outcome: 'ok' });
          break;
        case 'unknown': {
          const unknown = await observe(wire, kind, row.caller, 'no_such_thing');
          expect(observed.status).toBe(unknown.status);
          expect(JSON.stringify(observed.body).replaceAll(row.tool, 'X')).toBe(
            JSON.stringify(unknown.body).replaceAll('no_such_thing', 'X'),
          );
          expect((observed.body.error as { code: number }).code).toBe(-32602);
          expect(observed.records[0]).toMatchObject({ decision: 'deny', outcome: 'not_run' });
          break;
        }
        case 'rpc-error':
          expect(observed.status).toBe(row.status);
          expect(observed.body).toMatchObject({ jsonrpc: '2.0', id: 42, error: { code: expect.any(Number) } });
          expect(observed.records[0]).toMatchObject({ decision: 'challenge', outcome: 'not_run' });
          break;
      }
    });
  });
});
