import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AuditRecord } from '@/lib/audit/record';
import { principalFromClaims, type UserPrincipal } from '@/lib/auth/principal';
import { authInfoFor, handlerFor, type CallerContext } from '@/lib/endpoint/dispatch';
import { definePrompt, defineResource } from '@/lib/registry';
import { serveFetchHandler, type Listening } from '../helpers/net';

/**
 * The wrapper's own check for resources, prompts and completions, without the gate in front of it
 * (as tests/unit/dispatch-wrapper.test.ts does for tools): a caller the wrapper does not admit gets
 * exactly the answer of an unknown resource or prompt, nothing runs, and one record is written.
 */
const RESOURCE = 'http://127.0.0.1:1/mcp';
const ran: string[] = [];
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
const alice: UserPrincipal = principalFromClaims({ sub: 'user_alice', iat: now, exp: now + 600, scope: 'secret:read' });

let next: () => AuthInfo | undefined = () => undefined;
let server: Listening;
const records: AuditRecord[] = [];

beforeAll(async () => {
  const handler = handlerFor(
    { tools: [], resources: [secretResource], prompts: [secretPrompt] },
    { auditLine: (record) => records.push(record) },
  );
  server = await serveFetchHandler((request) => {
    request.auth = next();
    return handler(request);
  });
});
afterAll(async () => {
  await server?.close();
});
afterEach(() => {
  ran.length = 0;
  records.length = 0;
});

/** Reads, gets and completes with one client; each failure as its error message. */
async function useAll(): Promise<string[]> {
  const client = new Client({ name: 'wrapper-primitives', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
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
