import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMcpHandler } from 'mcp-handler';
import { z } from 'zod';
import { loadConfig, type Config } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { createRegistry, defineTool, jsonResult } from '@/lib/registry';
import { MCP_HEADERS, MODERN_HEADERS, modernMeta, readRpc } from '../helpers/app';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';

/**
 * Listing at the cost of a call (issue 17): a tool's JSON Schema is converted once per definition,
 * not per request, on both wires and for tools/call on 2026-07-28 too; the listing cached per
 * visible set still differs between callers who may see different tools.
 */

/** A z.object whose JSON Schema conversions are counted (zod's `~standard` has a setter for this). */
function counted<T extends z.ZodObject>(schema: T): { schema: T; conversions: () => number } {
  const original = schema['~standard'];
  let conversions = 0;
  schema['~standard'] = {
    ...original,
    jsonSchema: {
      input: (params) => {
        conversions++;
        return original.jsonSchema.input(params);
      },
      output: (params) => {
        conversions++;
        return original.jsonSchema.output(params);
      },
    },
  };
  return { schema, conversions: () => conversions };
}

const openShape = () => z.object({ message: z.string().max(10).optional() });
const secretShape = () => z.object({ n: z.number().int() });
const open = counted(openShape());
const secret = counted(secretShape());
/** Uncounted copies for the SDK's own listing. */
const fresh: Record<string, z.ZodObject> = { open: openShape(), secret: secretShape() };
const registry = createRegistry([
  defineTool({
    name: 'open',
    title: 'Open',
    description: 'public',
    access: 'public',
    input: open.schema,
    handler: () => jsonResult({ ok: true }),
  }),
  defineTool({
    name: 'secret',
    title: 'Secret',
    description: 'scoped',
    access: { scopes: ['secret:read'], org: 'required' },
    input: secret.schema,
    handler: ({ n }) => jsonResult({ n }),
  }),
]);

const RESOURCE = 'http://127.0.0.1:1/mcp';
let issuer: TestIssuer;
let endpoint: (request: Request) => Promise<Response>;
let token: string;

beforeAll(async () => {
  issuer = await startTestIssuer();
  const config: Config = loadConfig({
    NODE_ENV: 'production',
    AUTHKIT_DOMAIN: issuer.issuer,
    MCP_RESOURCE_URL: RESOURCE,
  });
  endpoint = createMcpEndpoint({ registry, config: () => config, auditLine: () => {} });
  token = await issuer.sign({
    aud: RESOURCE,
    sub: 'user_bob',
    org_id: 'org_acme',
    client_id: 'c',
    scope: 'secret:read',
  });
});
afterAll(async () => {
  await issuer?.close();
});

type Wire = '2025-11-25' | '2026-07-28';
function request(wire: Wire, method: string, params: Record<string, unknown>, bearer?: string): Request {
  const modern = wire === '2026-07-28';
  const headers: Record<string, string> = {
    ...(modern ? MODERN_HEADERS : MCP_HEADERS),
    ...(modern ? { 'mcp-method': method } : {}),
    ...(modern && typeof params.name === 'string' ? { 'mcp-name': params.name } : {}),
    ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
  };
  const body = { ...params, ...(modern ? { _meta: modernMeta('listing-test') } : {}) };
  return new Request(RESOURCE, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: body }),
  });
}
async function send(wire: Wire, method: string, params: Record<string, unknown>, bearer?: string) {
  const response = await endpoint(request(wire, method, params, bearer));
  expect(response.status).toBe(200);
  return (await readRpc(response)) as { result?: { tools?: Array<{ name: string; inputSchema: unknown }> } };
}

const names = (answer: Awaited<ReturnType<typeof send>>) => answer.result?.tools?.map((t) => t.name);

describe('tools/list from the cache', () => {
  it('converts each schema once, however many listings and calls on both wires', async () => {
    const listings: Array<Awaited<ReturnType<typeof send>>> = [];
    for (let i = 0; i < 10; i++)
      for (const wire of ['2025-11-25', '2026-07-28'] as const) {
        listings.push(await send(wire, 'tools/list', {}));
        listings.push(await send(wire, 'tools/list', {}, token));
        await send(wire, 'tools/call', { name: 'open', arguments: { message: 'hi' } });
        await send(wire, 'tools/call', { name: 'secret', arguments: { n: 2 } }, token);
      }
    expect(listings).toHaveLength(40);
    // Once each, for the one target the SDK asks for (before: once per listing and per modern call).
    expect(open.conversions()).toBe(1);
    expect(secret.conversions()).toBe(1);
  });

  it('lists exactly what the SDK lists for the same definitions, with validation still zod', async () => {
    // The same two tools registered the SDK's own way (its zod conversion per listing), no gate in front.
    const plain = createMcpHandler(
      (server) => {
        for (const tool of registry.tools)
          server.registerTool(
            tool.name,
            {
              title: tool.title,
              description: tool.description,
              inputSchema: fresh[tool.name],
              annotations: tool.annotations,
            },
            async () => ({ content: [] }),
          );
      },
      { serverInfo: { name: 'plain', version: '0' }, capabilities: { tools: { listChanged: false } } },
    );
    for (const wire of ['2025-11-25', '2026-07-28'] as const) {
      const ours = await send(wire, 'tools/list', {}, token);
      const theirs = (await readRpc(await plain(request(wire, 'tools/list', {})))) as typeof ours;
      expect(ours.result?.tools).toEqual(theirs.result?.tools);
      expect(JSON.stringify(ours.result?.tools)).toBe(JSON.stringify(theirs.result?.tools));
    }
    const refused = await send('2026-07-28', 'tools/call', { name: 'open', arguments: { message: 'far too long' } });
    expect(JSON.stringify(refused)).toContain('"isError":true');
  });

  it('two callers with different visibility get different lists, every time', async () => {
    for (let i = 0; i < 3; i++)
      for (const wire of ['2025-11-25', '2026-07-28'] as const) {
        expect(names(await send(wire, 'tools/list', {}))).toEqual(['open', 'secret']); // anonymous: challenge-able tools show
        // No organization: the scoped tool is denied to this caller, so it is hidden.
        const outsider = await issuer.sign({ aud: RESOURCE, sub: 'user_eve', client_id: 'c', scope: 'secret:read' });
        expect(names(await send(wire, 'tools/list', {}, outsider))).toEqual(['open']);
        expect(names(await send(wire, 'tools/list', {}, token))).toEqual(['open', 'secret']);
      }
  });
});
