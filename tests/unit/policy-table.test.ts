import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig, type Config } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { createRegistry, defineTool, jsonResult } from '@/lib/registry';
import type { Access } from '@/lib/policy';
import {
  CALLER_NAMES,
  CALLERS,
  type CallerName,
  POLICIES,
  RESOURCE,
  TABLE,
  TOOL_NAMES,
  UNAVAILABLE,
} from '../helpers/policy-table';
import { MCP_HEADERS, readRpc } from '../helpers/app';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';
import { serveFetchHandler, type Listening } from '../helpers/net';

/**
 * Every policy kind × every kind of caller, through the real endpoint served in-process over HTTP
 * on 127.0.0.1. Each cell states the HTTP status, the exact WWW-Authenticate header (or none),
 * whether the handler ran, and whether tools/list shows the tool to that caller. The expected
 * table below is written out by hand on purpose: it is the specification, not a computation.
 */

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

// ---------------------------------------------------------------------------------------------
let issuer: TestIssuer;
let server: Listening;
const tokens = new Map<CallerName, string | undefined>();

beforeAll(async () => {
  issuer = await startTestIssuer();
  const config: Config = loadConfig({
    NODE_ENV: 'production',
    AUTHKIT_DOMAIN: issuer.issuer,
    MCP_RESOURCE_URL: RESOURCE,
  });
  server = await serveFetchHandler(createMcpEndpoint({ registry: fixture, config: () => config, auditLine: () => {} }));
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

async function post(body: unknown, caller: CallerName): Promise<Response> {
  const bearer = tokens.get(caller);
  return fetch(`${server.url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}
const callBody = (name: string) => ({ jsonrpc: '2.0', id: 42, method: 'tools/call', params: { name, arguments: {} } });

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
      AUTHKIT_DOMAIN: issuer.issuer,
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
      createMcpEndpoint({ registry: fixture, config: () => issuerConfig, directory: () => down, auditLine: () => {} }),
    );
    try {
      for (const tool of ['admin_panel', 'staff_area', 'notes_manage']) {
        const before = runs.get(tool) ?? 0;
        const response = await fetch(`${outage.url}/mcp`, {
          method: 'POST',
          headers: { ...MCP_HEADERS, authorization: `Bearer ${tokens.get('no_membership_claims')}` },
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
        headers: { ...MCP_HEADERS, authorization: `Bearer ${tokens.get('no_membership_claims')}` },
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
