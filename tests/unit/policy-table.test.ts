import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig, type Config } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { createRegistry, definePrompt, defineResource, defineTool, jsonResult } from '@/lib/registry';
import type { Access } from '@/lib/policy';
import {
  CALLER_CLAIMS,
  CALLER_NAMES,
  CALLERS,
  type CallerName,
  POLICIES,
  RESOURCE,
  TABLE,
  TOOL_NAMES,
  UNAVAILABLE,
} from '../helpers/policy-table';
import { MCP_HEADERS, MODERN_HEADERS, modernMeta, readRpc } from '../helpers/app';
import { useEndpoint } from '../helpers/endpoint';
import { serveFetchHandler } from '../helpers/net';

/**
 * Every policy kind × every kind of caller, through the real endpoint served in-process over HTTP
 * on 127.0.0.1. Each cell states the HTTP status, the exact WWW-Authenticate header (or none),
 * whether the handler ran, and whether tools/list shows the tool to that caller. The expected
 * table below is written out by hand on purpose: it is the specification, not a computation.
 */
describe('tools', () => {
  // ---------------------------------------------------------------------------------------------
  // Fixture registry: one tool per policy kind. Each handler counts its runs.
  // ---------------------------------------------------------------------------------------------

  const runs = new Map<string, number>();
  const fixture = createRegistry(
    TOOL_NAMES.map((name) =>
      defineTool({
        name,
        title: name,
        description: `fixture: ${name}`,
        access: POLICIES[name] as Access,
        input: z.object({}),
        handler: () => {
          runs.set(name, (runs.get(name) ?? 0) + 1);
          return jsonResult({ ran: name });
        },
      }),
    ),
  );

  const endpoint = useEndpoint(fixture, { MCP_RESOURCE_URL: RESOURCE }, { callers: CALLER_CLAIMS });

  async function post(body: unknown, caller: CallerName): Promise<Response> {
    const bearer = endpoint.token(caller);
    return fetch(`${endpoint.server.url}/mcp`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  }
  const callBody = (name: string) => ({
    jsonrpc: '2.0',
    id: 42,
    method: 'tools/call',
    params: { name, arguments: {} },
  });

  async function listedFor(caller: CallerName): Promise<string[]> {
    const response = await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, caller);
    expect(response.status).toBe(200);
    const message = await readRpc(response);
    return (message.result as { tools: Array<{ name: string }> }).tools.map((tool) => tool.name);
  }

  type Observed = {
    status: number;
    www: string | null;
    retryAfter: string | null;
    ran: boolean;
    body: Record<string, unknown>;
  };
  async function observe(caller: CallerName, tool: string): Promise<Observed> {
    const before = runs.get(tool) ?? 0;
    const response = await post(callBody(tool), caller);
    return {
      status: response.status,
      www: response.headers.get('www-authenticate'),
      retryAfter: response.headers.get('retry-after'),
      body: await readRpc(response),
      ran: (runs.get(tool) ?? 0) > before,
    };
  }

  describe('the expected table itself', () => {
    it('has exactly one row per (policy, caller) cell', () => {
      const cells = TABLE.map((row) => `${row.tool}/${row.caller}`);
      expect(new Set(cells).size).toBe(cells.length);
      expect(cells.length).toBe(TOOL_NAMES.length * CALLER_NAMES.length);
    });
  });

  describe.each(TOOL_NAMES)('policy of %s', (tool) => {
    it.each(TABLE.filter((row) => row.tool === tool))(
      `$caller -> $status (ran: $ran, listed: $listed, $as)`,
      async (row) => {
        const observed = await observe(row.caller, row.tool);
        expect({ status: observed.status, www: observed.www, ran: observed.ran }).toEqual({
          status: row.status,
          www: row.www,
          ran: row.ran,
        });
        expect((await listedFor(row.caller)).includes(row.tool), 'listed in tools/list').toBe(row.listed);

        switch (row.as) {
          case 'result':
            expect(observed.body).toMatchObject({
              jsonrpc: '2.0',
              id: 42,
              result: { structuredContent: { ran: row.tool } },
            });
            break;
          case 'unknown': {
            const unknown = await observe(row.caller, 'no_such_tool');
            expect(unknown.status).toBe(observed.status);
            expect(JSON.stringify(observed.body).replaceAll(row.tool, 'X')).toBe(
              JSON.stringify(unknown.body).replaceAll('no_such_tool', 'X'),
            );
            break;
          }
          case 'rpc-error':
            expect(observed.body).toMatchObject({ jsonrpc: '2.0', id: 42, error: { code: expect.any(Number) } });
            expect(observed.body).not.toHaveProperty('result');
            if (row.status === 503) expect(observed.retryAfter).toBe('10');
            break;
        }
      },
    );
  });

  describe('membership lookup outage', () => {
    it('fails closed: lookup-dependent cells answer 503 with Retry-After and nothing runs; other tools are unaffected', async () => {
      const issuerConfig: Config = loadConfig({
        NODE_ENV: 'production',
        AUTHKIT_DOMAIN: endpoint.issuer.issuer,
        MCP_RESOURCE_URL: RESOURCE,
      });
      // The I/O edge only: a lookup whose WorkOS calls all fail (the real client's outage path is in identity.test.ts).
      const down = {
        membership: async () => 'unavailable' as const,
        user: async () => 'unavailable' as const,
        members: async () => 'unavailable' as const,
        requestCount: () => 0,
      };
      const outage = await serveFetchHandler(
        createMcpEndpoint({ registry: fixture, config: () => issuerConfig, directory: () => down }),
      );
      try {
        for (const tool of ['admin_panel', 'staff_area', 'notes_manage']) {
          const before = runs.get(tool) ?? 0;
          const response = await fetch(`${outage.url}/mcp`, {
            method: 'POST',
            headers: { ...MCP_HEADERS, authorization: `Bearer ${endpoint.token('no_membership_claims')}` },
            body: JSON.stringify(callBody(tool)),
          });
          expect({ ...UNAVAILABLE, status: response.status, retryAfter: response.headers.get('retry-after') }).toEqual({
            ...UNAVAILABLE,
            retryAfter: '10',
          });
          expect(runs.get(tool) ?? 0).toBe(before);
        }
        const open = await fetch(`${outage.url}/mcp`, {
          method: 'POST',
          headers: { ...MCP_HEADERS, authorization: `Bearer ${endpoint.token('no_membership_claims')}` },
          body: JSON.stringify(callBody('open')),
        });
        expect(open.status).toBe(200);
      } finally {
        await outage.close();
      }
    });
  });

  describe('organization membership does not change decisions', () => {
    it('a member of another organization gets exactly the decisions of the same caller in org_acme', async () => {
      const summary = async (caller: CallerName) => {
        const listed = await listedFor(caller);
        const cells: Array<[string, number, string | null, boolean, boolean]> = [];
        for (const tool of TOOL_NAMES) {
          const observed = await observe(caller, tool);
          cells.push([tool, observed.status, observed.www, observed.ran, listed.includes(tool)]);
        }
        return cells;
      };
      expect(await summary('other_org')).toEqual(await summary('right_scopes'));
    });
  });

  describe('tools/list per caller', () => {
    it.each(CALLER_NAMES)('%s sees exactly the tools the table lists for them', async (caller) => {
      const expected = TABLE.filter((row) => row.caller === caller && row.listed).map((row) => row.tool);
      expect((await listedFor(caller)).sort()).toEqual([...expected].sort());
    });
  });
});

/**
 * The policy table (tests/helpers/policy-table.ts) for resources, prompts and completions, on both
 * wires: a resource template and a prompt per policy kind (and the completion of that prompt's
 * argument) must answer every (policy, caller) cell exactly as the tool of that policy does: the
 * same status and WWW-Authenticate, the handler run or not, listed or not, and a hidden one
 * byte-identical to an unknown one. Plus: one audit record per call, with the caller.
 */
describe('resources, prompts and completions', () => {
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
  const endpoint = useEndpoint(fixture, { MCP_RESOURCE_URL: RESOURCE }, { callers: CALLER_CLAIMS });
  const audit = endpoint.records;

  async function post(wire: Wire, caller: CallerName, method: string, params: Record<string, unknown>, name?: string) {
    const bearer = endpoint.token(caller);
    const modern = wire === 'modern';
    return fetch(`${endpoint.server.url}/mcp`, {
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
});
