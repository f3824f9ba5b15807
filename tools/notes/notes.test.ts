import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { createStorage, type Storage } from 'unstorage';
import fsDriver from 'unstorage/drivers/fs';
import memoryDriver from 'unstorage/drivers/memory';
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { UserPrincipal } from '@/lib/auth/principal';
import { ConfigError } from '@/lib/config';
import { createRegistry, type HandlerContext, type ToolDefinition } from '@/lib/registry';
import { NOT_CONFIGURED, noteKey, notesStore, resolveNotesBackend, setNotesStorageForTests } from '@/tools/notes/store';
import { startStorageServer, type StorageServer } from '@/scripts/storage-server';
import { listen } from '@/tests/helpers/net';
import notesCreate from '@/tools/notes/notes_create';
import notesDelete from '@/tools/notes/notes_delete';
import notesList from '@/tools/notes/notes_list';
import { evaluate } from '@/lib/policy';

const STORE_ENV = [
  'UPSTASH_REDIS_REST_URL',
  'UPSTASH_REDIS_REST_TOKEN',
  'KV_REST_API_URL',
  'KV_REST_API_TOKEN',
  'NOTES_STORAGE_URL',
];

let dir: string;
let server: StorageServer;
/** Reads what the storage server wrote, straight from its directory. */
let disk: Storage;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'notes-test-'));
  server = await startStorageServer({ port: 0, dir });
  disk = createStorage({ driver: fsDriver({ base: dir }) });
});
afterAll(async () => {
  await server?.close();
  await disk?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  for (const name of STORE_ENV) vi.stubEnv(name, undefined);
  vi.stubEnv('NODE_ENV', 'test');
  vi.stubEnv('NOTES_STORAGE_URL', server.url);
  setNotesStorageForTests(undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  setNotesStorageForTests(undefined);
});

let counter = 0;
/** A fresh organization id per test: the store persists across tests. */
const freshOrg = (label: string) => `org_${label}_${++counter}_${Date.now()}`;

function user(organizationId: string | undefined, subject = 'user_alice'): UserPrincipal {
  const now = Math.floor(Date.now() / 1000);
  return {
    kind: 'user',
    callerKind: 'user',
    actors: [],
    subject,
    organizationId,
    scopes: ['notes:read', 'notes:write'],
    issuedAt: now,
    expiresAt: now + 300,
  };
}

/** Calls a handler the way dispatch does: arguments through the tool's input schema first. */
async function call(
  // biome-ignore lint/suspicious/noExplicitAny: the helper calls every notes tool, whatever its input shape
  tool: ToolDefinition<any>,
  args: Record<string, unknown>,
  principal: HandlerContext['principal'],
): Promise<CallToolResult> {
  return tool.handler(tool.input.parse(args), { principal });
}

const text = (result: CallToolResult) => (result.content[0] as { text: string }).text;
type NoteJson = { id: string; title: string; body: string; authorId: string; createdAt: string };
const listed = (result: CallToolResult) => (result.structuredContent as { notes: NoteJson[] }).notes;
const created = (result: CallToolResult) => (result.structuredContent as { note: NoteJson }).note;
const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

async function create(org: string, title: string, subject = 'user_alice'): Promise<NoteJson> {
  const result = await call(notesCreate, { title, body: `body of ${title}` }, user(org, subject));
  expect(result.isError, text(result)).toBeFalsy();
  return created(result);
}

const allKeys = async () => (await disk.getKeys('notes')).sort();

describe('notes tools', () => {
  it('load into a registry with their policies', () => {
    const registry = createRegistry([notesList, notesCreate, notesDelete]);
    expect(registry.scopes()).toEqual(['notes:read', 'notes:write']);
    expect(Object.keys(notesList)[1]).toBe('access');
    // A reporting job (a machine, tools/approvals.ts) may list; creating and deleting stay people only.
    expect(notesList.access).toEqual({ scopes: ['notes:read'], org: 'required', callers: ['user', 'machine'] });
    expect(notesCreate.access).toEqual({ scopes: ['notes:write'], org: 'required' });
    expect(notesDelete.access).toEqual({ scopes: ['notes:write'], org: 'required' });
    expect(notesCreate.audit).toEqual(['title']);
  });

  it('lets a machine of the organization list its notes, and only a person create or delete', async () => {
    const org = freshOrg('m');
    await create(org, 'for the report');
    const now = Math.floor(Date.now() / 1000);
    const job: UserPrincipal = {
      ...user(org, 'client_local_report_job'),
      callerKind: 'machine',
      clientId: 'client_local_report_job',
      scopes: ['notes:read'],
      issuedAt: now,
    };
    expect(evaluate(notesList.access, job).effect).toBe('allow');
    expect(listed(await call(notesList, {}, job)).map((n) => n.title)).toEqual(['for the report']);
    const withWrite = { ...job, scopes: ['notes:read', 'notes:write'] };
    expect(evaluate(notesCreate.access, withWrite)).toEqual({ effect: 'deny', reason: 'caller_kind_not_allowed' });
    expect(evaluate(notesDelete.access, withWrite)).toEqual({ effect: 'deny', reason: 'caller_kind_not_allowed' });
  });

  it('creates notes in the caller organization and lists them newest first', async () => {
    const org = freshOrg('a');
    const first = await create(org, 'first');
    await pause();
    const second = await create(org, 'second');
    expect(first).toMatchObject({ title: 'first', body: 'body of first', authorId: 'user_alice' });
    expect(first.id).toMatch(/^[0-9a-f-]{36}$/);

    const all = await call(notesList, {}, user(org, 'user_bob'));
    expect(all.isError).toBeFalsy();
    expect(listed(all).map((n) => n.id)).toEqual([second.id, first.id]);
    const limited = await call(notesList, { limit: 1 }, user(org));
    expect(listed(limited).map((n) => n.id)).toEqual([second.id]);
  });

  it('keeps organizations apart: B sees none of A and cannot delete A’s note', async () => {
    const orgA = freshOrg('a');
    const orgB = freshOrg('b');
    const note = await create(orgA, 'secret plan');

    const asB = await call(notesList, { organizationId: orgA }, user(orgB, 'user_mallory'));
    expect(asB.isError).toBeFalsy();
    expect(listed(asB)).toEqual([]);

    const deleteOther = await call(notesDelete, { id: note.id }, user(orgB, 'user_mallory'));
    const deleteRandom = await call(notesDelete, { id: crypto.randomUUID() }, user(orgB, 'user_mallory'));
    expect(deleteOther).toEqual({ isError: true, content: [{ type: 'text', text: 'Note not found' }] });
    expect(deleteOther).toEqual(deleteRandom);

    // Ids that try to walk out of the caller's namespace are just not found.
    for (const id of [
      `../${orgA}/${note.id}`,
      `${orgA}:${note.id}`,
      `:${orgA}:${note.id}`,
      '..',
      `${orgA}/${note.id}`,
    ]) {
      expect(await call(notesDelete, { id }, user(orgB))).toEqual(deleteRandom);
    }
    expect(listed(await call(notesList, {}, user(orgA))).map((n) => n.id)).toEqual([note.id]);

    // The owner can delete it, once.
    expect(await call(notesDelete, { id: note.id }, user(orgA))).toMatchObject({
      structuredContent: { deleted: true, id: note.id },
    });
    expect(await call(notesDelete, { id: note.id }, user(orgA))).toEqual(deleteRandom);
    expect(listed(await call(notesList, {}, user(orgA)))).toEqual([]);
  });

  it('stores each note under notes:<orgId>:<noteId>', async () => {
    const orgA = freshOrg('a');
    const orgB = freshOrg('b');
    const a = await create(orgA, 'in A');
    const b = await create(orgB, 'in B');
    const keys = await allKeys();
    expect(keys).toContain(`notes:${orgA}:${a.id}`);
    expect(keys).toContain(`notes:${orgB}:${b.id}`);
    expect(keys.filter((k) => k.includes(a.id))).toEqual([`notes:${orgA}:${a.id}`]);
    expect(existsSync(join(dir, 'notes', orgA, a.id))).toBe(true);
    expect(await disk.getItem(`notes:${orgA}:${a.id}`)).toEqual(a);
    expect(noteKey(orgA, a.id)).toBe(`notes:${orgA}:${a.id}`);
    expect(() => noteKey('org:x', a.id)).toThrow('This organization id cannot be used for notes');
  });

  it('skips stored entries that are not notes of that key', async () => {
    const org = freshOrg('a');
    const good = await create(org, 'good');
    await disk.setItem(`notes:${org}:bogus`, { hello: 'world' });
    await disk.setItem(`notes:${org}:moved`, { ...good, id: 'other' });
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(listed(await call(notesList, {}, user(org))).map((n) => n.id)).toEqual([good.id]);
  });

  it('refuses organization ids outside the strict charset and writes nothing', async () => {
    const before = await allKeys();
    for (const org of [
      'org:b',
      'org/b',
      '..',
      '../org_a',
      'a b',
      'org.b',
      'x'.repeat(129),
      'notes:org_a',
      'org_a\\x',
    ]) {
      for (const result of [
        await call(notesCreate, { title: 't', body: '' }, user(org)),
        await call(notesList, {}, user(org)),
        await call(notesDelete, { id: crypto.randomUUID() }, user(org)),
      ]) {
        expect(result, org).toEqual({
          isError: true,
          content: [{ type: 'text', text: 'This organization id cannot be used for notes' }],
        });
      }
    }
    expect(await allKeys()).toEqual(before);
  });

  it('refuses inside the handler when there is no organization or no user (defense in depth)', async () => {
    const before = await allKeys();
    for (const principal of [user(undefined), user(''), { kind: 'anonymous' } as const]) {
      const result = await call(notesCreate, { title: 't', body: '' }, principal);
      expect(result.isError).toBe(true);
      expect(text(result)).toBe('Notes need a signed-in user in an organization');
      expect((await call(notesList, {}, principal)).isError).toBe(true);
      expect((await call(notesDelete, { id: 'x' }, principal)).isError).toBe(true);
    }
    expect(await allKeys()).toEqual(before);
  });

  it('validates the create input', () => {
    expect(() => notesCreate.input.parse({ title: '', body: '' })).toThrow();
    expect(() => notesCreate.input.parse({ title: '   ', body: '' })).toThrow();
    expect(() => notesCreate.input.parse({ title: 'x'.repeat(201), body: '' })).toThrow();
    expect(() => notesCreate.input.parse({ title: 'ok', body: 'x'.repeat(10_001) })).toThrow();
    expect(notesCreate.input.parse({ title: 'ok', body: '' })).toEqual({ title: 'ok', body: '' });
    expect(() => notesList.input.parse({ limit: 0 })).toThrow();
    expect(() => notesList.input.parse({ limit: 101 })).toThrow();
  });
});

describe('notes storage: failing closed', () => {
  it('in production with no store configured, every tool answers the clear error and nothing is written', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    vi.stubEnv('NOTES_STORAGE_URL', undefined);
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const before = await allKeys();
    const org = freshOrg('prod');
    const expected = { isError: true, content: [{ type: 'text', text: NOT_CONFIGURED }] };
    expect(await call(notesCreate, { title: 't', body: 'b' }, user(org))).toEqual(expected);
    expect(await call(notesList, {}, user(org))).toEqual(expected);
    expect(await call(notesDelete, { id: crypto.randomUUID() }, user(org))).toEqual(expected);
    expect(NOT_CONFIGURED).toMatch(/UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN/);
    expect(await allKeys()).toEqual(before);
    expect(resolveNotesBackend({ NODE_ENV: 'production' })).toEqual({ driver: 'none' });
  });

  it('in development follows NOTES_STORAGE_PORT to the store npm run dev started', () => {
    expect(resolveNotesBackend({ NODE_ENV: 'development', NOTES_STORAGE_PORT: '4600' })).toEqual({
      driver: 'http',
      base: 'http://127.0.0.1:4600',
      from: 'development default',
    });
    expect(() => resolveNotesBackend({ NODE_ENV: 'development', NOTES_STORAGE_PORT: '0' })).toThrow(
      /^NOTES_STORAGE_PORT: must be an integer/,
    );
  });

  it('turns a storage outage into a clean tool error without a stack', async () => {
    const downDir = await mkdtemp(join(tmpdir(), 'notes-down-'));
    const down = await startStorageServer({ port: 0, dir: downDir });
    onTestFinished(() => rm(downDir, { recursive: true, force: true }));
    vi.stubEnv('NOTES_STORAGE_URL', down.url);
    const org = freshOrg('down');
    const note = await create(org, 'before the outage');
    await down.close();

    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const started = Date.now();
    const results = [
      await call(notesList, {}, user(org)),
      await call(notesCreate, { title: 't', body: 'b' }, user(org)),
      await call(notesDelete, { id: note.id }, user(org)),
    ];
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const result of results) {
      expect(result).toEqual({
        isError: true,
        content: [{ type: 'text', text: 'Notes storage is unavailable right now; try again later' }],
      });
      expect(text(result)).not.toMatch(/\bat |127\.0\.0\.1|Error|fetch|\/|\n/);
    }
    // The operator gets one line per failure, without note contents.
    expect(logged).toHaveBeenCalled();
    for (const [line] of logged.mock.calls) {
      expect(String(line)).toMatch(/^\[notes\] storage (list|create|remove) failed: /);
      expect(String(line)).not.toContain('\n');
    }
  });
});

describe('notes storage: a store answering garbage', () => {
  it.each([
    ['an HTML page', 'text/html', '<!doctype html><html><body>Bad gateway, but 200</body></html>'],
    ['malformed JSON', 'application/json', '{"keys": [ "notes:'],
    ['JSON of the wrong shape', 'application/json', '{"keys": ["notes:x:y"]}'],
  ])(
    'fails like a store that is down when it answers %s, never as an empty organization',
    async (_label, type, body) => {
      const garbage = await listen((_req, res) => {
        res.writeHead(200, { 'content-type': type });
        res.end(body);
      });
      onTestFinished(() => garbage.close());
      vi.stubEnv('NOTES_STORAGE_URL', garbage.url);
      vi.spyOn(console, 'error').mockImplementation(() => {});
      const result = await call(notesList, {}, user(freshOrg('garbage')));
      expect(result).toEqual({
        isError: true,
        content: [{ type: 'text', text: 'Notes storage is unavailable right now; try again later' }],
      });
    },
  );
});

describe('notes storage: backend resolution', () => {
  it('a verbatim copy of .env.example uses the local storage server', () => {
    const env = { ...parseEnv(readFileSync('.env.example', 'utf8')), NODE_ENV: 'development' };
    expect(resolveNotesBackend(env)).toMatchObject({ driver: 'http', base: 'http://127.0.0.1:4100' });
  });

  function configError(env: Record<string, string | undefined>): ConfigError {
    try {
      resolveNotesBackend(env);
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error('expected a ConfigError');
  }

  it('resolves the Upstash and Vercel Marketplace (KV_*) names to the upstash driver, without a network call', () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const upstash = { UPSTASH_REDIS_REST_URL: 'https://eu1-upstash.upstash.io', UPSTASH_REDIS_REST_TOKEN: 'tok_u' };
    const kv = { KV_REST_API_URL: 'https://kv-marketplace.upstash.io', KV_REST_API_TOKEN: 'tok_kv' };

    expect(resolveNotesBackend({ NODE_ENV: 'production', ...upstash })).toEqual({
      driver: 'upstash',
      url: 'https://eu1-upstash.upstash.io',
      token: 'tok_u',
      from: 'UPSTASH_REDIS_REST_URL',
    });
    expect(resolveNotesBackend({ NODE_ENV: 'production', ...kv })).toEqual({
      driver: 'upstash',
      url: 'https://kv-marketplace.upstash.io',
      token: 'tok_kv',
      from: 'KV_REST_API_URL',
    });
    // Both present: the Upstash names win. Upstash also wins over NOTES_STORAGE_URL.
    expect(resolveNotesBackend({ ...kv, ...upstash, NOTES_STORAGE_URL: 'http://127.0.0.1:4100' })).toMatchObject({
      from: 'UPSTASH_REDIS_REST_URL',
    });

    const store = notesStore({ NODE_ENV: 'production', ...kv });
    expect('unavailable' in store ? store.unavailable : store.driver).toBe('upstash');
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('names the missing half of an Upstash pair', () => {
    expect(configError({ UPSTASH_REDIS_REST_URL: 'https://x.upstash.io' }).variable).toBe('UPSTASH_REDIS_REST_TOKEN');
    expect(configError({ KV_REST_API_TOKEN: 't' }).variable).toBe('KV_REST_API_URL');
    expect(
      configError({ UPSTASH_REDIS_REST_URL: 'http://x.upstash.io', UPSTASH_REDIS_REST_TOKEN: 't' }).message,
    ).toMatch(/^UPSTASH_REDIS_REST_URL: must use https:\/\//);
  });

  it('uses NOTES_STORAGE_URL, or the local storage server by default outside production', () => {
    expect(resolveNotesBackend({ NOTES_STORAGE_URL: 'http://127.0.0.1:4100/' })).toEqual({
      driver: 'http',
      base: 'http://127.0.0.1:4100',
      from: 'NOTES_STORAGE_URL',
    });
    expect(resolveNotesBackend({ NOTES_STORAGE_URL: 'https://store.example.com/kv' })).toMatchObject({
      driver: 'http',
      base: 'https://store.example.com/kv',
    });
    expect(resolveNotesBackend({ NODE_ENV: 'development' })).toEqual({
      driver: 'http',
      base: 'http://127.0.0.1:4100',
      from: 'development default',
    });
    expect(resolveNotesBackend({ NODE_ENV: 'production', NOTES_STORAGE_URL: '  ' })).toEqual({ driver: 'none' });
  });

  it('refuses http:// to a non-loopback NOTES_STORAGE_URL, naming the variable', async () => {
    const error = configError({ NOTES_STORAGE_URL: 'http://storage.example.com:4100' });
    expect(error.variable).toBe('NOTES_STORAGE_URL');
    expect(error.message).toMatch(/^NOTES_STORAGE_URL: must use https:\/\//);
    expect(error.message).not.toContain('\n');
    expect(configError({ NOTES_STORAGE_URL: 'not a url' }).variable).toBe('NOTES_STORAGE_URL');
    expect(configError({ NOTES_STORAGE_URL: 'https://user:pw@store.example.com' }).variable).toBe('NOTES_STORAGE_URL');

    // Through a tool: fail closed with the same one line, nothing sent anywhere.
    vi.stubEnv('NOTES_STORAGE_URL', 'http://10.0.0.5:4100');
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const result = await call(notesCreate, { title: 't', body: 'b' }, user(freshOrg('cfg')));
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^Notes storage is misconfigured: NOTES_STORAGE_URL: must use https:\/\//);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('memoizes the store per environment', () => {
    const env = { NOTES_STORAGE_URL: 'http://127.0.0.1:4999' };
    const first = notesStore(env);
    expect(notesStore({ ...env })).toBe(first);
    expect(notesStore({ NOTES_STORAGE_URL: 'http://127.0.0.1:4998' })).not.toBe(first);
  });

  it('serves from an injected storage in tests', async () => {
    const memory = createStorage({ driver: memoryDriver() });
    setNotesStorageForTests(memory);
    const org = freshOrg('mem');
    const note = await create(org, 'in memory');
    expect(await memory.getKeys()).toEqual([`notes:${org}:${note.id}`]);
    expect(listed(await call(notesList, {}, user(org))).map((n) => n.id)).toEqual([note.id]);
    setNotesStorageForTests(undefined);
    expect(listed(await call(notesList, {}, user(org)))).toEqual([]);
  });
});

describe('the local storage server', () => {
  const raw = (method: string, path: string, host?: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}${path}`, { method, headers: host ? { host } : {} }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });

  it('serves only notes:* keys, to loopback Hosts, and never clears a namespace', async () => {
    const org = freshOrg('srv');
    const note = await create(org, 'kept');
    expect(await raw('GET', `/notes/${org}/${note.id}`)).toBe(200);
    expect(await raw('GET', `/notes/${org}/${note.id}`, 'evil.example:80')).toBe(403);
    expect(await raw('GET', '/other/key')).toBe(403);
    expect(await raw('DELETE', `/notes/${org}/`)).toBe(403);
    expect(await raw('DELETE', '/')).toBe(403);
    expect(await disk.getKeys(`notes:${org}`)).toEqual([`notes:${org}:${note.id}`]);
  });

  it('refuses to start in production', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    await expect(startStorageServer({ port: 0, dir })).rejects.toThrow(/refusing to start with NODE_ENV=production/);
  });
});
