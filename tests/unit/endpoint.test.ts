import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRegistry, defineTool, jsonResult } from '@/lib/registry';
import { MCP_HEADERS, readRpc } from '../helpers/app';
import { useEndpoint } from '../helpers/endpoint';
import type { Listening } from '../helpers/net';

/**
 * The endpoint composition with a fixture registry, served in-process over real HTTP on
 * 127.0.0.1: scope step-up, batches, hidden tools, MCP_AUTH_REQUIRED, and "no tool ran".
 */
const ran: string[] = [];
const fixture = createRegistry([
  defineTool({
    name: 'open',
    title: 'Open',
    description: 'public',
    access: 'public',
    input: z.object({}),
    handler: () => (ran.push('open'), jsonResult({ ok: true })),
  }),
  defineTool({
    name: 'notes_read',
    title: 'Read',
    description: 'scoped',
    access: { scopes: ['notes:read'], org: 'required' },
    input: z.object({}),
    handler: () => (ran.push('notes_read'), jsonResult({ ok: true })),
  }),
  defineTool({
    name: 'notes_write',
    title: 'Write',
    description: 'scoped',
    access: { scopes: ['notes:read', 'notes:write'], org: 'required' },
    input: z.object({}),
    handler: () => (ran.push('notes_write'), jsonResult({ ok: true })),
  }),
  defineTool({
    name: 'boom',
    title: 'Boom',
    description: 'throws',
    access: 'signed-in',
    input: z.object({}),
    handler: () => {
      ran.push('boom');
      throw new Error('secret internal detail at /srv/app/tools/boom.ts:12');
    },
  }),
]);

const RESOURCE = 'http://127.0.0.1:1/mcp';
const endpoint = useEndpoint(
  fixture,
  { MCP_RESOURCE_URL: RESOURCE },
  {
    variants: {
      required: { MCP_AUTH_REQUIRED: 'true' },
      approved: { ALLOWED_CLIENT_IDS: 'client_approved, client_other' },
    },
  },
);
const records = endpoint.records;

const PRM = 'http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp';
const call = (name: string, id = 1) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } });
const token = (scope: string, extra: Record<string, unknown> = {}) =>
  endpoint.issuer.sign({ aud: RESOURCE, sub: 'user_bob', org_id: 'org_acme', client_id: 'c', scope, ...extra });
async function send(
  body: unknown,
  bearer?: string,
  target: Listening = endpoint.server,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${target.url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...headers },
    body: JSON.stringify(body),
  });
  return response;
}

describe('scope step-up', () => {
  it('missing scope -> 403 insufficient_scope with granted ∪ required, and nothing runs', async () => {
    ran.length = 0;
    const response = await send(call('notes_write'), await token('openid notes:read'));
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", scope="notes:read notes:write openid", error_description="The access token lacks a scope this tool requires", resource_metadata="${PRM}"`,
    );
    expect(await response.json()).toMatchObject({ id: 1, error: { code: -32003 } });
    expect(ran).toEqual([]);
  });

  it('scopes compare exactly: look-alikes do not count', async () => {
    for (const scope of ['NOTES:READ', 'notes:read:all', 'notes:*', 'notes']) {
      const response = await send(call('notes_read'), await token(scope));
      expect(response.status, scope).toBe(403);
    }
  });

  it('with the scopes the call runs', async () => {
    ran.length = 0;
    const response = await send(call('notes_write'), await token('notes:read notes:write'));
    expect(response.status).toBe(200);
    expect(ran).toEqual(['notes_write']);
  });

  it('anonymous -> 401 naming the scopes needed', async () => {
    const response = await send(call('notes_write'));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${PRM}", scope="notes:read notes:write"`,
    );
  });
});

describe('batches and hidden tools', () => {
  it('gates every element of a 2025-03-26 batch: one private call refuses the whole request', async () => {
    ran.length = 0;
    const response = await send([call('open', 1), call('notes_read', 2)], undefined, endpoint.server, {
      'mcp-protocol-version': '2025-03-26',
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${PRM}", scope="notes:read"`);
    expect(ran).toEqual([]);
  });

  it('refuses a batch under 2025-11-25 (batching left MCP in 2025-06-18) with one record, before the gate', async () => {
    ran.length = 0;
    records.length = 0;
    const response = await send([call('open', 1), call('notes_read', 2)], await token('notes:read'));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      id: null,
      error: { code: -32600, data: { reason: 'batch_not_supported' } },
    });
    expect(ran).toEqual([]);
    expect(records).toEqual([
      expect.objectContaining({
        type: 'request_rejected',
        method: 'batch',
        reason: 'batch_not_supported',
        status: 400,
      }),
    ]);
  });

  it('a tool the caller can never reach is hidden and answers exactly like an unknown tool', async () => {
    const noOrg = await token('notes:read', { org_id: undefined });
    const list = await readRpc(await send({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, noOrg));
    const names = (list.result as { tools: Array<{ name: string }> }).tools.map((t) => t.name).sort();
    expect(names).toEqual(['boom', 'open']);

    const hidden = await readRpc(await send(call('notes_read', 7), noOrg));
    const unknown = await readRpc(await send(call('no_such_tool', 7), noOrg));
    expect(JSON.stringify(hidden).replaceAll('notes_read', 'X')).toBe(
      JSON.stringify(unknown).replaceAll('no_such_tool', 'X'),
    );
    expect(
      records.some((r) => r.tool === 'notes_read' && r.decision === 'deny' && r.reason === 'organization_required'),
    ).toBe(true);
  });
});

describe('tool failures', () => {
  it('an exception becomes a fixed isError result with no detail, audited as exception', async () => {
    const result = await readRpc(await send(call('boom'), await token('openid')));
    expect(result).toMatchObject({ result: { isError: true, content: [{ type: 'text', text: 'The tool failed' }] } });
    expect(JSON.stringify(result)).not.toMatch(/secret|\/srv\//);
    expect(records.some((r) => r.tool === 'boom' && r.outcome === 'exception')).toBe(true);
  });
});

describe('MCP_AUTH_REQUIRED=true', () => {
  it('every anonymous request gets a 401 challenge, even ping and tools/list', async () => {
    for (const body of [call('open'), { jsonrpc: '2.0', id: 1, method: 'tools/list' }]) {
      const response = await send(body, undefined, endpoint.variants.required);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${PRM}"`);
    }
    expect((await send(call('open'), await token('openid'), endpoint.variants.required)).status).toBe(200);
  });
});

describe('ALLOWED_CLIENT_IDS', () => {
  it('a token from an unlisted client is refused with 403 (no challenge to loop on), audited, and nothing runs', async () => {
    ran.length = 0;
    records.length = 0;
    const response = await send(
      call('open'),
      await token('openid', { client_id: 'client_rogue' }),
      endpoint.variants.approved,
    );
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(await response.json()).toMatchObject({
      id: 1,
      error: { code: -32003, data: { reason: 'client_not_allowed' } },
    });
    expect(ran).toEqual([]);
    expect(records).toEqual([
      expect.objectContaining({
        type: 'request_rejected',
        decision: 'reject',
        reason: 'client_not_allowed',
        status: 403,
        sub: 'user_bob',
        client_id: 'client_rogue',
      }),
    ]);
  });

  it('a token without client_id is refused too; a listed client passes', async () => {
    expect(
      (await send(call('open'), await token('openid', { client_id: undefined }), endpoint.variants.approved)).status,
    ).toBe(403);
    ran.length = 0;
    expect(
      (await send(call('open'), await token('openid', { client_id: 'client_approved' }), endpoint.variants.approved))
        .status,
    ).toBe(200);
    expect(ran).toEqual(['open']);
  });
});
