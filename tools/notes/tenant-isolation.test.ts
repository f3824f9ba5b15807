import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '@/scripts/oauth-client/flow';
import { startStack, type Stack } from '@/tests/helpers/stack';

/**
 * Tenant isolation end to end, through the real v2 client and the built app: a note created by a
 * user of one organization is invisible to, and cannot be deleted by, a user of another, even when
 * the other user names the note id or smuggles an organization id into the arguments.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.close());

type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; content?: Array<{ text?: string }> };

async function clientFor(user: string, org: string) {
  const { accessToken } = await mintToken({
    issuer: stack.auth.issuer,
    user,
    org,
    resource: stack.resource,
    scope: 'notes:read notes:write',
  });
  const client = new Client({ name: `isolation-${user}`, version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(stack.resource), {
      requestInit: { headers: { authorization: `Bearer ${accessToken}` } },
    }),
  );
  return {
    call: (name: string, args: Record<string, unknown>) =>
      client.callTool({ name, arguments: args }) as Promise<Result>,
    close: () => client.close(),
  };
}

describe('notes are isolated per organization', () => {
  it('org B cannot see or delete what org A wrote; org A still can', async () => {
    const alice = await clientFor('alice', 'org_acme');
    const carol = await clientFor('carol', 'org_globex');
    try {
      const created = await alice.call('notes_create', { title: 'acme plans', body: 'confidential' });
      const note = (created.structuredContent as { note: { id: string } }).note;
      expect(note.id).toBeTruthy();

      const carolList = await carol.call('notes_list', {});
      expect(carolList.structuredContent).toMatchObject({ organizationId: 'org_globex', count: 0, notes: [] });
      expect(JSON.stringify(carolList)).not.toContain('acme plans');

      // Arguments cannot choose the organization: unknown keys are dropped by the input schema.
      const smuggled = await carol.call('notes_list', { organizationId: 'org_acme', org_id: 'org_acme' });
      expect(JSON.stringify(smuggled)).not.toContain('acme plans');

      // Deleting A's note by its exact id answers exactly like a random id.
      const foreign = await carol.call('notes_delete', { id: note.id });
      const random = await carol.call('notes_delete', { id: crypto.randomUUID() });
      expect(foreign).toEqual(random);
      expect(foreign.isError).toBe(true);

      const aliceList = await alice.call('notes_list', {});
      expect(JSON.stringify(aliceList)).toContain('acme plans');

      const removed = await alice.call('notes_delete', { id: note.id });
      expect(removed.isError).toBeFalsy();
    } finally {
      await alice.close();
      await carol.close();
    }
  });
});
