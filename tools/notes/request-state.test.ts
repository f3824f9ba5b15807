import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '@/scripts/oauth-client/flow';
import { auditRecords, MCP_HEADERS, MODERN_HEADERS, modernMeta, readRpc } from '@/tests/helpers/app';
import { startStack, type Stack } from '@/tests/helpers/stack';

/**
 * Multi round-trip requests (2026-07-28) with two real users' tokens from the local authorization
 * server, against the built app: notes_delete asks for confirmation through a form elicitation and
 * seals a requestState. A state replayed by another user, against another tool, with edited
 * arguments or after its expiry is refused with the SDK's fixed -32602, each refusal audited with
 * the presenter's identity; the honest retry deletes the note.
 */
const TTL_SECONDS = 3;
let stack: Stack;
let alice: string;
let bob: string;

beforeAll(async () => {
  stack = await startStack({ env: { MCP_REQUEST_STATE_TTL_SECONDS: String(TTL_SECONDS) } });
  const token = async (user: string) =>
    (
      await mintToken({
        issuer: stack.auth.issuer,
        user,
        org: 'org_acme',
        resource: stack.resource,
        scope: 'notes:read notes:write',
      })
    ).accessToken;
  [alice, bob] = await Promise.all([token('alice'), token('bob')]);
});
afterAll(async () => stack?.close());

const ELICITING = { elicitation: { form: {} } };
type Rpc = { result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } };

let nextId = 1;
async function call(
  bearer: string,
  name: string,
  args: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  capabilities: Record<string, unknown> = ELICITING,
): Promise<Rpc> {
  const meta = { ...modernMeta('mrtr-e2e'), 'io.modelcontextprotocol/clientCapabilities': capabilities };
  const response = await fetch(stack.resource, {
    method: 'POST',
    headers: { ...MODERN_HEADERS, 'mcp-method': 'tools/call', 'mcp-name': name, authorization: `Bearer ${bearer}` },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: nextId++,
      method: 'tools/call',
      params: { name, arguments: args, ...extra, _meta: meta },
    }),
    signal: AbortSignal.timeout(10_000),
  });
  return (await readRpc(response)) as Rpc;
}

const accepted = { confirm: { action: 'accept', content: { confirm: true } } };

async function newNote(title: string): Promise<string> {
  const created = await call(alice, 'notes_create', { title, body: 'to be deleted' });
  const note = (created.result?.structuredContent as { note?: { id: string } } | undefined)?.note;
  expect(note?.id).toBeTruthy();
  return note?.id ?? '';
}

/** Asks to delete `id` as alice and returns the sealed state. */
async function askToDelete(id: string): Promise<string> {
  const asked = await call(alice, 'notes_delete', { id });
  expect(asked.result).toMatchObject({
    resultType: 'input_required',
    inputRequests: { confirm: { method: 'elicitation/create' } },
  });
  const state = asked.result?.requestState;
  expect(typeof state).toBe('string');
  return String(state);
}

async function exists(id: string): Promise<boolean> {
  const listed = await call(alice, 'notes_list', {});
  return JSON.stringify(listed.result).includes(id);
}

const refusalsAfter = (mark: number) =>
  auditRecords(stack.app.output())
    .slice(mark)
    .filter((r) => typeof r.reason === 'string' && (r.reason as string).startsWith('request_state_'));
const auditMark = () => auditRecords(stack.app.output()).length;

const FIXED = { code: -32602, message: 'Invalid or expired requestState' };

describe('requestState of notes_delete', () => {
  it('replayed by another user is refused and audited with that user', async () => {
    const id = await newNote('replay by bob');
    const state = await askToDelete(id);
    const mark = auditMark();
    const replay = await call(bob, 'notes_delete', { id }, { requestState: state, inputResponses: accepted });
    expect(replay.error).toMatchObject(FIXED);
    expect(replay.result).toBeUndefined();
    expect(await exists(id)).toBe(true);
    const [record, ...more] = refusalsAfter(mark);
    expect(more).toEqual([]);
    expect(record).toMatchObject({
      type: 'tool_call',
      tool: 'notes_delete',
      decision: 'reject',
      reason: 'request_state_bind',
      outcome: 'not_run',
      sub: 'user_bob',
    });
  });

  it('replayed against another tool is refused and audited', async () => {
    const id = await newNote('replay on notes_list');
    const state = await askToDelete(id);
    const mark = auditMark();
    const replay = await call(alice, 'notes_list', {}, { requestState: state, inputResponses: accepted });
    expect(replay.error).toMatchObject(FIXED);
    expect(refusalsAfter(mark)).toMatchObject([
      { tool: 'notes_list', reason: 'request_state_bind', sub: 'user_alice' },
    ]);
    expect(await exists(id)).toBe(true);
  });

  it('with edited arguments is refused and audited: the confirmation of one note cannot delete another', async () => {
    const asked = await newNote('asked about');
    const other = await newNote('not asked about');
    const state = await askToDelete(asked);
    const mark = auditMark();
    const edited = await call(alice, 'notes_delete', { id: other }, { requestState: state, inputResponses: accepted });
    expect(edited.error).toMatchObject(FIXED);
    expect(refusalsAfter(mark)).toMatchObject([{ tool: 'notes_delete', reason: 'request_state_bind' }]);
    expect(await exists(other)).toBe(true);
    expect(await exists(asked)).toBe(true);
  });

  it('tampered with is refused and audited', async () => {
    const id = await newNote('tampered');
    const state = await askToDelete(id);
    // The MAC's second-to-last character (always significant) replaced by another: never the same state.
    const flipped = `${state.slice(0, -2)}${state.at(-2) === 'A' ? 'B' : 'A'}${state.slice(-1)}`;
    expect(flipped).not.toBe(state);
    const mark = auditMark();
    const tampered = await call(alice, 'notes_delete', { id }, { requestState: flipped, inputResponses: accepted });
    expect(tampered.error).toMatchObject(FIXED);
    expect(refusalsAfter(mark)).toHaveLength(1);
    expect(await exists(id)).toBe(true);
  });

  it('the honest retry deletes the note; a declined one does not', async () => {
    const declinedId = await newNote('declined');
    const declinedState = await askToDelete(declinedId);
    const declined = await call(
      alice,
      'notes_delete',
      { id: declinedId },
      { requestState: declinedState, inputResponses: { confirm: { action: 'decline' } } },
    );
    expect(declined.result).toMatchObject({ isError: true });
    expect(await exists(declinedId)).toBe(true);

    const id = await newNote('honest');
    const state = await askToDelete(id);
    const mark = auditMark();
    const retry = await call(alice, 'notes_delete', { id }, { requestState: state, inputResponses: accepted });
    expect(retry.result).toMatchObject({ structuredContent: { deleted: true, id } });
    expect(await exists(id)).toBe(false);
    expect(refusalsAfter(mark)).toEqual([]);
    const records = auditRecords(stack.app.output()).slice(mark);
    expect(records.filter((r) => r.tool === 'notes_delete')).toMatchObject([
      { decision: 'allow', outcome: 'ok', sub: 'user_alice', arguments: { id } },
    ]);
  });

  it('answers without a state are not a confirmation: the tool asks again', async () => {
    const id = await newNote('no state');
    const forged = await call(alice, 'notes_delete', { id }, { inputResponses: accepted });
    expect(forged.result).toMatchObject({ resultType: 'input_required' });
    expect(await exists(id)).toBe(true);
  });

  it('a client that did not declare elicitation, and a 2025-11-25 client, delete as before', async () => {
    const id = await newNote('no elicitation');
    const direct = await call(alice, 'notes_delete', { id }, {}, {});
    expect(direct.result).toMatchObject({ structuredContent: { deleted: true, id } });

    const legacyId = await newNote('legacy client');
    const response = await fetch(stack.resource, {
      method: 'POST',
      headers: { ...MCP_HEADERS, authorization: `Bearer ${alice}` },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'notes_delete', arguments: { id: legacyId } },
      }),
    });
    expect(((await readRpc(response)) as Rpc).result).toMatchObject({ structuredContent: { deleted: true } });
  });

  it('after its expiry is refused and audited', async () => {
    const id = await newNote('expired');
    const state = await askToDelete(id);
    await new Promise((resolve) => setTimeout(resolve, (TTL_SECONDS + 1.5) * 1000));
    const mark = auditMark();
    const late = await call(alice, 'notes_delete', { id }, { requestState: state, inputResponses: accepted });
    expect(late.error).toMatchObject(FIXED);
    expect(refusalsAfter(mark)).toMatchObject([{ tool: 'notes_delete', reason: 'request_state_expired' }]);
    expect(await exists(id)).toBe(true);
  }, 20_000);
});
