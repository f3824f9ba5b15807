import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry, defineTool, jsonResult, RegistryError } from '@/lib/registry';
import { paramDeclarations } from '@/lib/registry/param-headers';
import { checkParamHeaders } from '@/lib/wire/params';
import { modernMeta } from '../helpers/app';
import { useEndpoint } from '../helpers/endpoint';

/**
 * Declared Mcp-Param-* headers (SEP-2243): the decision as a table, the registry's load-time
 * check, then the endpoint over loopback HTTP (hand-made requests both ways, and the real v2
 * client pinned to 2026-07-28, which sends the headers itself).
 */

const input = z.object({
  region: z.string().meta({ 'x-mcp-header': 'Region' }),
  count: z.number().int().optional().meta({ 'x-mcp-header': 'Count' }),
  flags: z.object({ dry: z.boolean().meta({ 'x-mcp-header': 'Dry' }) }).optional(),
  note: z.string().optional(),
});
const b64 = (s: string) => `=?base64?${Buffer.from(s, 'utf8').toString('base64')}?=`;

describe('checkParamHeaders', () => {
  it('reads the declarations from the schema tools/list shows, nested ones included', () => {
    expect(paramDeclarations(input)).toEqual([
      { path: ['region'], header: 'Region', type: 'string' },
      { path: ['count'], header: 'Count', type: 'integer' },
      { path: ['flags', 'dry'], header: 'Dry', type: 'boolean' },
    ]);
  });

  const rows: Array<[string, Record<string, string>, unknown, string]> = [
    ['all agree', { 'mcp-param-region': 'eu', 'mcp-param-count': '3' }, { region: 'eu', count: 3 }, 'ok'],
    ['names are case-insensitive', { 'MCP-PARAM-REGION': 'eu' }, { region: 'eu' }, 'ok'],
    [
      'integers compare numerically',
      { 'mcp-param-region': 'eu', 'mcp-param-count': '3.0' },
      { region: 'eu', count: 3 },
      'ok',
    ],
    ['Base64 sentinel decodes', { 'mcp-param-region': b64('zürich') }, { region: 'zürich' }, 'ok'],
    [
      'nested boolean',
      { 'mcp-param-region': 'eu', 'mcp-param-dry': 'true' },
      { region: 'eu', flags: { dry: true } },
      'ok',
    ],
    [
      'absent argument expects no header; one sent is ignored',
      { 'mcp-param-region': 'eu', 'mcp-param-count': '9' },
      { region: 'eu' },
      'ok',
    ],
    ['null argument expects no header', { 'mcp-param-region': 'eu' }, { region: 'eu', count: null }, 'ok'],
    ['header says eu, body says us', { 'mcp-param-region': 'eu' }, { region: 'us' }, 'param_header_mismatch'],
    ['header says us, body says eu', { 'mcp-param-region': 'us' }, { region: 'eu' }, 'param_header_mismatch'],
    ['header missing for a present argument', {}, { region: 'eu' }, 'param_header_missing'],
    [
      'integer disagrees',
      { 'mcp-param-region': 'eu', 'mcp-param-count': '4' },
      { region: 'eu', count: 3 },
      'param_header_mismatch',
    ],
    [
      'boolean disagrees',
      { 'mcp-param-region': 'eu', 'mcp-param-dry': 'false' },
      { region: 'eu', flags: { dry: true } },
      'param_header_mismatch',
    ],
    ['broken Base64 sentinel', { 'mcp-param-region': '=?base64?@@@?=' }, { region: 'eu' }, 'param_header_invalid'],
    ['case matters in values', { 'mcp-param-region': 'EU' }, { region: 'eu' }, 'param_header_mismatch'],
  ];
  it.each(rows)('%s', (_name, headers, args, expected) => {
    const check = checkParamHeaders(new Headers(headers), input, args);
    expect(check.ok ? 'ok' : check.reason).toBe(expected);
    if (!check.ok) expect(check).toMatchObject({ status: 400, code: -32020 });
  });
});

describe('the registry refuses invalid x-mcp-header declarations', () => {
  const tool = (schema: z.ZodObject) =>
    defineTool({
      name: 'bad',
      title: 'b',
      description: 'b',
      access: 'public',
      input: schema,
      handler: () => jsonResult({}),
    });
  const cases: Array<[string, z.ZodObject, RegExp]> = [
    ['on an object', z.object({ o: z.object({}).meta({ 'x-mcp-header': 'O' }) }), /only on string, integer or boolean/],
    ['on a number', z.object({ n: z.number().meta({ 'x-mcp-header': 'N' }) }), /only on string, integer or boolean/],
    [
      'under an array',
      z.object({ a: z.array(z.string().meta({ 'x-mcp-header': 'A' })) }),
      /only on properties reached/,
    ],
    ['not a token', z.object({ s: z.string().meta({ 'x-mcp-header': 'Has Space' }) }), /header-name token/],
    [
      'declared twice, differing in case',
      z.object({ a: z.string().meta({ 'x-mcp-header': 'X' }), b: z.string().meta({ 'x-mcp-header': 'x' }) }),
      /declared twice/,
    ],
  ];
  it.each(cases)('%s', (_name, schema, message) => {
    expect(() => createRegistry([tool(schema)])).toThrow(RegistryError);
    expect(() => createRegistry([tool(schema)])).toThrow(message);
  });
});

describe('through the endpoint on 2026-07-28', () => {
  const RESOURCE = 'http://127.0.0.1:1/mcp';
  const runs: string[] = [];
  const regional = (name: string, access: 'public' | 'signed-in' | { roles: string[] }) =>
    defineTool({
      name,
      title: name,
      description: name,
      access,
      input: z.object({ region: z.string().meta({ 'x-mcp-header': 'Region' }) }),
      handler: ({ region }) => {
        runs.push(`${name}:${region}`);
        return jsonResult({ region });
      },
    });
  const registry = createRegistry([
    regional('open_region', 'public'),
    regional('member_region', 'signed-in'),
    regional('admin_region', { roles: ['admin'] }),
  ]);
  const endpoint = useEndpoint(
    registry,
    { MCP_RESOURCE_URL: RESOURCE },
    {
      callers: { member: { sub: 'user_p', org_id: 'org_1', roles: ['member'], client_id: 'c' } },
    },
  );
  const audit = endpoint.records;

  const post = (name: string, region: string, header: string | undefined, bearer?: string) =>
    fetch(`${endpoint.server.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': name,
        ...(header === undefined ? {} : { 'mcp-param-region': header }),
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 5,
        method: 'tools/call',
        params: { name, arguments: { region }, _meta: modernMeta('param-test') },
      }),
      signal: AbortSignal.timeout(10_000),
    });

  async function expectRefused(response: Response, reason: string, before: { runs: number; audit: number }) {
    expect(response.status).toBe(400);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(await response.json()).toMatchObject({ id: 5, error: { code: -32020, data: { reason } } });
    expect(runs.length).toBe(before.runs);
    const records = audit.slice(before.audit);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ type: 'request_rejected', reason, status: 400, method: 'tools/call' });
  }
  const mark = () => ({ runs: runs.length, audit: audit.length });

  it('header eu, body us (and the reverse): 400 -32020, nothing runs, one record each', async () => {
    let before = mark();
    await expectRefused(await post('open_region', 'us', 'eu'), 'param_header_mismatch', before);
    before = mark();
    await expectRefused(
      await post('member_region', 'eu', 'us', endpoint.token('member')),
      'param_header_mismatch',
      before,
    );
    expect(audit.at(-1)).toMatchObject({ sub: 'user_p' });
  });

  it('a missing header is refused the same way', async () => {
    const before = mark();
    await expectRefused(await post('open_region', 'eu', undefined), 'param_header_missing', before);
  });

  it('checked before the sign-in challenge: anonymous with a mismatch gets 400, not 401', async () => {
    const before = mark();
    await expectRefused(await post('member_region', 'us', 'eu'), 'param_header_mismatch', before);
    expect((await post('member_region', 'eu', 'eu')).status).toBe(401);
  });

  it('a hidden tool answers like an unknown one whatever its headers say', async () => {
    const hidden = await (await post('admin_region', 'us', 'eu', endpoint.token('member'))).json();
    const unknown = await (await post('no_such_tool', 'us', 'eu', endpoint.token('member'))).json();
    expect(hidden.error.code).toBe(-32602);
    expect(unknown.error.code).toBe(-32602);
    expect(hidden.error.message.replace('admin_region', 'X')).toBe(unknown.error.message.replace('no_such_tool', 'X'));
  });

  it('agreeing headers pass, and the real v2 client pinned to 2026-07-28 sends them itself', async () => {
    const ok = await post('open_region', 'eu', 'eu');
    expect(ok.status).toBe(200);
    await ok.text();
    expect(runs.at(-1)).toBe('open_region:eu');

    const client = new Client(
      { name: 'param-v2', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(`${endpoint.server.url}/mcp`)));
    try {
      await client.listTools();
      const result = await client.callTool({ name: 'open_region', arguments: { region: 'zürich' } });
      expect(result).toMatchObject({ structuredContent: { region: 'zürich' } });
      expect(runs.at(-1)).toBe('open_region:zürich');
    } finally {
      await client.close();
    }
  });
});
