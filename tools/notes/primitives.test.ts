import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '@/scripts/oauth-client/flow';
import { auditRecords } from '@/tests/helpers/app';
import { startStack, type Stack } from '@/tests/helpers/stack';

/**
 * The notes resource template and prompt end to end: real SDK clients (v2 pinned to 2026-07-28,
 * v2 on 2025-11-25, v1) with real tokens from the local authorization server, against the built
 * app and its notes store. A note of org_acme is readable and completable by alice, and for carol
 * (org_globex) it answers exactly like a note that does not exist and is never suggested.
 */
let stack: Stack;
let noteId = '';

type Client = {
  listResourceTemplates(): Promise<{ resourceTemplates: Array<{ name: string; uriTemplate: string }> }>;
  readResource(params: { uri: string }): Promise<{ contents: Array<{ text?: string }> }>;
  listPrompts(): Promise<{ prompts: Array<{ name: string }> }>;
  getPrompt(params: { name: string; arguments?: Record<string, string> }): Promise<{
    messages: Array<{ content: { text?: string } }>;
  }>;
  complete(params: {
    ref: { type: 'ref/prompt'; name: string } | { type: 'ref/resource'; uri: string };
    argument: { name: string; value: string };
  }): Promise<{ completion: { values: string[] } }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
};

type Generation = [name: string, connect: (bearer: string) => Promise<Client>];
const generations: Generation[] = [
  [
    'v2 client pinned to 2026-07-28',
    async (bearer) => {
      const client = new ClientV2(
        { name: 'notes-v2', version: '1.0.0' },
        { versionNegotiation: { mode: { pin: '2026-07-28' } } },
      );
      await client.connect(
        new TransportV2(new URL(stack.resource), { requestInit: { headers: { authorization: `Bearer ${bearer}` } } }),
      );
      return client as unknown as Client;
    },
  ],
  [
    'v2 client on 2025-11-25',
    async (bearer) => {
      const client = new ClientV2({ name: 'notes-v2-legacy', version: '1.0.0' });
      await client.connect(
        new TransportV2(new URL(stack.resource), { requestInit: { headers: { authorization: `Bearer ${bearer}` } } }),
      );
      return client as unknown as Client;
    },
  ],
  [
    'v1 client',
    async (bearer) => {
      const client = new ClientV1({ name: 'notes-v1', version: '1.0.0' });
      await client.connect(
        new TransportV1(new URL(stack.resource), { requestInit: { headers: { authorization: `Bearer ${bearer}` } } }),
      );
      return client as unknown as Client;
    },
  ],
];

const tokens = new Map<string, string>();
beforeAll(async () => {
  stack = await startStack();
  for (const [user, org] of [
    ['alice', 'org_acme'],
    ['carol', 'org_globex'],
  ] as const) {
    const { accessToken } = await mintToken({
      issuer: stack.auth.issuer,
      user,
      org,
      resource: stack.resource,
      scope: 'notes:read notes:write',
    });
    tokens.set(user, accessToken);
  }
  const [, connect] = generations[0] as Generation;
  const alice = await connect(tokens.get('alice') ?? '');
  const created = (await alice.callTool({
    name: 'notes_create',
    arguments: { title: 'acme plans', body: 'confidential' },
  })) as {
    structuredContent?: { note?: { id: string } };
  };
  noteId = created.structuredContent?.note?.id ?? '';
  await alice.close();
  expect(noteId).toMatch(/^[0-9a-f-]{36}$/);
});
afterAll(async () => stack?.close());

/** The error a call ends in, as code and message with the URI or id replaced, for comparing two answers. */
async function failure(work: Promise<unknown>, replace: string): Promise<{ code?: number; message: string }> {
  try {
    await work;
  } catch (error) {
    const { code, message } = error as { code?: number; message: string };
    return { code, message: message.replaceAll(replace, 'X') };
  }
  throw new Error('expected the call to fail');
}

describe.each(generations)('%s', (_name, connect) => {
  it('lists the template and the prompt, reads the note and gets the prompt for its own organization', async () => {
    const alice = await connect(tokens.get('alice') ?? '');
    try {
      const { resourceTemplates } = await alice.listResourceTemplates();
      expect(resourceTemplates).toContainEqual(
        expect.objectContaining({ name: 'note', uriTemplate: 'notes://{note_id}' }),
      );
      expect((await alice.listPrompts()).prompts.map((p) => p.name)).toContain('summarize_notes');
      const read = await alice.readResource({ uri: `notes://${noteId}` });
      expect(read.contents[0]?.text).toContain('acme plans');
      const prompt = await alice.getPrompt({ name: 'summarize_notes', arguments: { note_id: noteId } });
      expect(prompt.messages[0]?.content.text).toContain('confidential');
      const completion = await alice.complete({
        ref: { type: 'ref/prompt', name: 'summarize_notes' },
        argument: { name: 'note_id', value: noteId.slice(0, 4) },
      });
      expect(completion.completion.values).toContain(noteId);
    } finally {
      await alice.close();
    }
  });

  it('another organization reads the note exactly as a missing one and is never suggested its id', async () => {
    const carol = await connect(tokens.get('carol') ?? '');
    try {
      const missing = crypto.randomUUID();
      const foreign = await failure(carol.readResource({ uri: `notes://${noteId}` }), noteId);
      const absent = await failure(carol.readResource({ uri: `notes://${missing}` }), missing);
      expect(foreign).toEqual(absent);
      expect(foreign.code).toBe(-32602);

      const prompt = await carol.getPrompt({ name: 'summarize_notes', arguments: { note_id: noteId } });
      expect(JSON.stringify(prompt)).not.toContain('confidential');
      for (const ref of [
        { type: 'ref/prompt', name: 'summarize_notes' } as const,
        { type: 'ref/resource', uri: 'notes://{note_id}' } as const,
      ]) {
        for (const value of ['', noteId.slice(0, 4), noteId]) {
          const completion = await carol.complete({ ref, argument: { name: 'note_id', value } });
          expect(completion.completion.values).not.toContain(noteId);
        }
      }
    } finally {
      await carol.close();
    }
  });
});

describe('audit of resources, prompts and completions', () => {
  it('writes one record per read, get and completion, with the caller', () => {
    const records = auditRecords(stack.app.output());
    const reads = records.filter((r) => r.type === 'resource_read');
    expect(reads.some((r) => r.sub === 'user_alice' && r.outcome === 'ok' && r.resource === 'note')).toBe(true);
    expect(reads.some((r) => r.sub === 'user_carol' && r.outcome === 'not_found')).toBe(true);
    expect(
      records.some((r) => r.type === 'prompt_get' && r.prompt === 'summarize_notes' && r.sub === 'user_carol'),
    ).toBe(true);
    expect(records.some((r) => r.type === 'completion' && r.sub === 'user_carol' && r.outcome === 'ok')).toBe(true);
    expect(JSON.stringify(records)).not.toContain(tokens.get('alice'));
  });
});
