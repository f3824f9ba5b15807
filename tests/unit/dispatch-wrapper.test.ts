import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AuditRecord } from '@/lib/audit/record';
import { PERSON, principalFromClaims, type UserPrincipal } from '@/lib/auth/principal';
import { authInfoFor, handlerFor, type CallerContext } from '@/lib/endpoint/dispatch';
import { definePrompt, defineResource, defineTool, jsonResult } from '@/lib/registry';
import { serveFetchHandler, type Listening } from '../helpers/net';

/**
 * The tool wrapper's own check, without the gate in front of it: lib/endpoint/dispatch.ts is served directly
 * on 127.0.0.1 and the identity on each request is set by the test. The wrapper must refuse, and
 * audit, whenever that identity is not one authInfoFor minted, whatever shape it has.
 * The same for resources, prompts and completions (second half): a caller the wrapper does not admit
 * gets exactly the answer of an unknown resource or prompt, nothing runs, and one record is written.
 */
const RESOURCE = 'http://127.0.0.1:1/mcp';
const ran: string[] = [];
const secret = defineTool({
  name: 'secret_read',
  title: 'Secret',
  description: 'Scoped tool',
  access: { scopes: ['secret:read'] },
  input: z.object({}),
  handler: (_input, { principal }) => (
    ran.push(principal.kind === 'user' ? principal.subject : 'anonymous'), jsonResult({ ok: true })
  ),
});
const access = { scopes: ['secret:read'] };
const secretResource = defineResource({
  name: 'secret_doc',
  uri: 'secret://{id}',
  title: 'Secret',
  description: 'Scoped resource',
  access,
  complete: { id: () => (ran.push('complete'), ['s1', 's2']) },
  read: (uri) => (ran.push('read'), { contents: [{ uri: uri.href, text: 'classified' }] }),
});
const secretPrompt = definePrompt({
  name: 'secret_prompt',
  title: 'Secret',
  description: 'Scoped prompt',
  access,
  arguments: z.object({ topic: z.string() }),
  handler: () => (ran.push('prompt'), { messages: [{ role: 'user', content: { type: 'text', text: 'classified' } }] }),
});
const now = Math.floor(Date.now() / 1000);
const alice: UserPrincipal = principalFromClaims(
  { sub: 'user_alice', iat: now, exp: now + 600, scope: 'secret:read' },
  PERSON,
);
const identity = (): CallerContext => ({ principal: alice, requestId: crypto.randomUUID() });

let next: () => AuthInfo | undefined = () => undefined;
/** The tool's handler, and the resource's and prompt's (dispatch serves each set as it is given). */
let server: Listening;
let primitivesServer: Listening;
const records: AuditRecord[] = [];

beforeAll(async () => {
  const handler = handlerFor([secret], { auditLine: (record) => records.push(record) });
  server = await serveFetchHandler((request) => {
    request.auth = next();
    return handler(request);
  });
  const primitivesHandler = handlerFor(
    { tools: [], resources: [secretResource], prompts: [secretPrompt] },
    { auditLine: (record) => records.push(record) },
  );
  primitivesServer = await serveFetchHandler((request) => {
    request.auth = next();
    return primitivesHandler(request);
  });
});
afterAll(async () => {
  await Promise.all([server?.close(), primitivesServer?.close()]);
});
afterEach(() => {
  ran.length = 0;
  records.length = 0;
});

async function call(): Promise<{ isError?: boolean; content: Array<{ type: string; text?: string }> }> {
  const client = new Client({ name: 'wrapper-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
  try {
    return (await client.callTool({ name: 'secret_read', arguments: {} })) as Awaited<ReturnType<typeof call>>;
  } finally {
    await client.close();
  }
}

describe('the tool wrapper checks again, trusting only identities it minted', () => {
  it('runs the tool for a minted identity that the policy allows', async () => {
    next = () => authInfoFor(identity(), RESOURCE);
    const result = await call();
    expect(result.isError).toBeFalsy();
    expect(ran).toEqual(['user_alice']);
    expect(records.filter((r) => r.type === 'tool_call')).toMatchObject([
      { decision: 'allow', outcome: 'ok', sub: 'user_alice' },
    ]);
  });

  it('refuses without any identity', async () => {
    next = () => undefined;
    const result = await call();
    expect(result).toMatchObject({
      isError: true,
      content: [{ type: 'text', text: 'Not authorized to call this tool' }],
    });
    expect(ran).toEqual([]);
    expect(records.filter((r) => r.type === 'tool_call')).toMatchObject([
      { decision: 'deny', reason: 'wrapper:challenge', outcome: 'not_run' },
    ]);
  });

  it('refuses an identity of the right shape that authInfoFor did not mint', async () => {
    next = () => ({ ...authInfoFor(identity(), RESOURCE)!, extra: { caller: { ...identity() } } });
    const result = await call();
    expect(result).toMatchObject({ isError: true });
    expect(ran).toEqual([]);
    expect(records.filter((r) => r.type === 'tool_call')).toMatchObject([
      { decision: 'deny', reason: 'wrapper:challenge' },
    ]);
  });

  it('refuses a minted identity whose principal lacks the scope', async () => {
    const unscoped = principalFromClaims({ sub: 'user_bob', iat: now, exp: now + 600, scope: 'other' }, PERSON);
    next = () => authInfoFor({ principal: unscoped, requestId: crypto.randomUUID() }, RESOURCE);
    const result = await call();
    expect(result).toMatchObject({ isError: true });
    expect(ran).toEqual([]);
    expect(records.filter((r) => r.type === 'tool_call')).toMatchObject([
      { decision: 'deny', reason: 'wrapper:challenge', sub: 'user_bob' },
    ]);
  });

  it('never runs the tool once its request has been settled (the audit already recorded it as not run)', async () => {
    const asked: string[] = [];
    next = () => authInfoFor({ ...identity(), begin: (tool) => (asked.push(tool), false) }, RESOURCE);
    const result = await call();
    expect(asked).toEqual(['secret_read']);
    expect(result).toMatchObject({ isError: true, content: [{ type: 'text', text: 'The request has ended' }] });
    expect(ran).toEqual([]);
    expect(records).toEqual([]);
  });

  it('a minted identity cannot be edited afterwards', () => {
    const minted = identity();
    authInfoFor(minted, RESOURCE);
    expect(() => Object.assign(minted, { principal: { ...alice, subject: 'user_mallory' } })).toThrow(TypeError);
    expect(() => (alice.scopes as string[]).push('admin')).toThrow(TypeError);
  });
});

/** Reads, gets and completes with one client; each failure as its error message. */
async function useAll(): Promise<string[]> {
  const client = new Client({ name: 'wrapper-primitives', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${primitivesServer.url}/mcp`)));
  const outcome = async (work: Promise<unknown>) => {
    try {
      return JSON.stringify(await work);
    } catch (error) {
      const { code, message } = error as { code?: number; message: string };
      return `error ${code}: ${message}`;
    }
  };
  try {
    return [
      await outcome(client.readResource({ uri: 'secret://1' })),
      await outcome(client.getPrompt({ name: 'secret_prompt', arguments: { topic: 'x' } })),
      await outcome(
        client.complete({ ref: { type: 'ref/resource', uri: 'secret://{id}' }, argument: { name: 'id', value: 's' } }),
      ),
    ];
  } finally {
    await client.close();
  }
}

describe('the wrapper of resources, prompts and completions checks again', () => {
  it('serves a minted identity the policy allows, one record each', async () => {
    next = () => authInfoFor({ principal: alice, requestId: crypto.randomUUID() } satisfies CallerContext, RESOURCE);
    const [read, prompt, completion] = await useAll();
    expect(read).toContain('classified');
    expect(prompt).toContain('classified');
    expect(completion).toContain('s1');
    expect(ran).toEqual(['read', 'prompt', 'complete']);
    expect(records.map((r) => [r.type, r.decision, r.outcome, r.sub])).toEqual([
      ['resource_read', 'allow', 'ok', 'user_alice'],
      ['prompt_get', 'allow', 'ok', 'user_alice'],
      ['completion', 'allow', 'ok', 'user_alice'],
    ]);
  });

  it('answers an identity it did not mint as unknown, runs nothing, and records each refusal', async () => {
    next = () => ({
      ...authInfoFor({ principal: alice, requestId: crypto.randomUUID() }, RESOURCE)!,
      extra: { caller: { principal: alice, requestId: 'forged' } },
    });
    const [read, prompt, completion] = await useAll();
    // Exactly what the SDK answers for ones that do not exist.
    expect(read).toBe('error -32602: Resource not found: secret://1');
    expect(prompt).toMatch(/^error -32602: .*Prompt secret_prompt not found$/);
    expect(completion).toMatch(/^error -32602: .*Resource template secret:\/\/\{id\} not found$/);
    expect(ran).toEqual([]);
    expect(records.map((r) => [r.type, r.decision, r.reason, r.outcome])).toEqual([
      ['resource_read', 'deny', 'wrapper:challenge', 'not_run'],
      ['prompt_get', 'deny', 'wrapper:challenge', 'not_run'],
      ['completion', 'deny', 'wrapper:challenge', 'not_run'],
    ]);
  });
});
