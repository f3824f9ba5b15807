import type { CallToolResult } from '@modelcontextprotocol/server';
import { createStorage, type Driver, type Storage } from 'unstorage';
import httpDriver from 'unstorage/drivers/http';
import upstashDriver from 'unstorage/drivers/upstash';
import { z } from 'zod';
import { ConfigError, parseSecureUrl } from '@/lib/config';
import { withDeadline } from '@/lib/util/deadline';
import { toolError } from '@/lib/registry';
import { upstashPairFrom, type UpstashPair } from '@/lib/shared-state/backend';

/**
 * The notes store: one namespace per organization (`notes:<orgId>:<noteId>`), through unstorage.
 * Edge-safe: only the `upstash` and `http` drivers (both fetch-based), no Node built-ins.
 *
 *   UPSTASH_REDIS_REST_URL + _TOKEN, or KV_REST_API_URL + _TOKEN (Vercel Marketplace) → Upstash Redis
 *   else NOTES_STORAGE_URL                                   → an unstorage HTTP server (scripts/storage-server.ts)
 *   else, outside production                                 → http://127.0.0.1:4100 (the dev storage server)
 *   else                                                     → no store: the notes tools fail closed
 *
 * There is deliberately no in-memory fallback: on serverless, a Map per isolate loses notes silently.
 */

export const DEV_NOTES_STORAGE_URL = 'http://127.0.0.1:4100';
export const NOT_CONFIGURED =
  'Notes storage is not configured: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (Vercel Marketplace: Upstash Redis)';
const STORAGE_FAILED = 'Notes storage is unavailable right now; try again later';
/** Upper bound for one storage operation, so a hung store cannot hold a tool call open. */
const OPERATION_TIMEOUT_MS = 10_000;

export const TITLE_MAX = 200;
export const BODY_MAX = 10_000;

/** Organization and note ids are each one key segment: no `:`, `/`, `\`, `.` or `..` can get through. */
export const KEY_SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;
const SegmentSchema = z.string().regex(KEY_SEGMENT);

export const NoteSchema = z.object({
  id: SegmentSchema,
  title: z.string().trim().min(1).max(TITLE_MAX),
  body: z.string().max(BODY_MAX),
  authorId: z.string().min(1),
  createdAt: z.iso.datetime(),
});
export type Note = z.infer<typeof NoteSchema>;

export const NewNoteSchema = NoteSchema.pick({ title: true, body: true, authorId: true });
export type NewNote = z.infer<typeof NewNoteSchema>;

export type NotesStore = {
  /** Which backend serves it: for logs and tests, never for decisions. */
  readonly driver: 'upstash' | 'http' | 'injected';
  /** The organization's notes, newest first. */
  list(orgId: string, options?: { limit?: number }): Promise<Note[]>;
  /** The note, or undefined when the organization has none with that id (including ids that are not valid at all). */
  get(orgId: string, noteId: string): Promise<Note | undefined>;
  create(orgId: string, note: NewNote): Promise<Note>;
  /** False when the organization has no note with that id (including ids that are not valid at all). */
  remove(orgId: string, noteId: string): Promise<boolean>;
};
export type NotesStoreResult = NotesStore | { unavailable: string };

/** Failures safe to show a caller: fixed messages, no paths, URLs or stacks. */
export class NotesError extends Error {
  constructor(
    readonly code: 'invalid_organization' | 'invalid_note' | 'storage_failed',
    message: string,
  ) {
    super(message);
    this.name = 'NotesError';
  }
}

// ---------------------------------------------------------------------------------------------
// Keys

function checkOrg(orgId: string): string {
  // The policies require an organization, and the wrapper checks it before any handler runs; the
  // store still touches no namespace without one.
  if (!orgId) throw new NotesError('invalid_organization', 'Notes need a signed-in user in an organization');
  if (!SegmentSchema.safeParse(orgId).success) {
    throw new NotesError('invalid_organization', 'This organization id cannot be used for notes');
  }
  return orgId;
}

/** `notes:<orgId>:` — every key of an organization starts with it, and no other key does. */
export function orgPrefix(orgId: string): string {
  return `notes:${checkOrg(orgId)}:`;
}

export function noteKey(orgId: string, noteId: string): string {
  if (!SegmentSchema.safeParse(noteId).success) throw new NotesError('invalid_note', 'Note not found');
  return `${orgPrefix(orgId)}${noteId}`;
}

// ---------------------------------------------------------------------------------------------
// Backend resolution (pure, table-tested)

const optional = z
  .string()
  .optional()
  .transform((v) => v?.trim() || undefined);

const EnvSchema = z.object({
  NODE_ENV: optional,
  NOTES_STORAGE_URL: optional,
  NOTES_STORAGE_PORT: optional,
});

export type NotesBackend =
  | ({ driver: 'upstash' } & UpstashPair)
  | { driver: 'http'; base: string; from: 'NOTES_STORAGE_URL' | 'development default' }
  | { driver: 'none' };

/** The base URL of a store, checked like every configured URL (lib/config.ts), without a trailing slash. */
function checkUrl(variable: string, raw: string, example: string): string {
  return parseSecureUrl(variable, raw, example).toString().replace(/\/$/, '');
}

/** Which backend the environment selects. Throws ConfigError (one line naming the variable). */
export function resolveNotesBackend(rawEnv: Record<string, string | undefined>): NotesBackend {
  const upstash = upstashPairFrom(rawEnv);
  if (upstash) return { driver: 'upstash', ...upstash };
  const env = EnvSchema.parse(rawEnv);
  if (env.NOTES_STORAGE_URL) {
    return {
      driver: 'http',
      base: checkUrl('NOTES_STORAGE_URL', env.NOTES_STORAGE_URL, DEV_NOTES_STORAGE_URL),
      from: 'NOTES_STORAGE_URL',
    };
  }
  if (env.NODE_ENV !== 'production') {
    // The store `npm run dev` starts (scripts/storage-server.ts) on NOTES_STORAGE_PORT.
    const port = env.NOTES_STORAGE_PORT === undefined ? undefined : Number(env.NOTES_STORAGE_PORT);
    if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
      throw new ConfigError(
        'NOTES_STORAGE_PORT',
        `must be an integer from 1 to 65535, got ${JSON.stringify(env.NOTES_STORAGE_PORT)}`,
      );
    }
    return {
      driver: 'http',
      base: port ? `http://127.0.0.1:${port}` : DEV_NOTES_STORAGE_URL,
      from: 'development default',
    };
  }
  return { driver: 'none' };
}

/**
 * unstorage's http driver, except for listing keys: it reads any answer that is not a JSON array
 * (an HTML error page, a proxy's login form) as "no keys", so an organization would look empty.
 * Here such an answer throws, and the notes tools fail as they do when the store is down.
 */
function strictHttpDriver(base: string): Driver {
  const driver = httpDriver({ base });
  return {
    ...driver,
    async getKeys(relativeBase: string) {
      const path = relativeBase
        .split(/[:/\\]/)
        .filter(Boolean)
        .map(encodeURIComponent)
        .join('/');
      const response = await fetch(`${base}/${path ? `${path}/` : ''}:`, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(OPERATION_TIMEOUT_MS),
      });
      if (!response.ok) throw new Error(`the store answered ${response.status}`);
      const keys: unknown = await response.json(); // an HTML page throws here
      if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string'))
        throw new Error('the store answered something that is not a list of keys');
      return keys;
    },
  };
}

function storageFor(backend: Exclude<NotesBackend, { driver: 'none' }>): Storage {
  if (backend.driver === 'http') return createStorage({ driver: strictHttpDriver(backend.base) });
  return createStorage({
    driver: upstashDriver({
      url: backend.url,
      token: backend.token,
      // Bounded: a few quick retries on network errors, and every request times out.
      retry: { retries: 2, backoff: (n) => 100 * 2 ** n },
      signal: () => AbortSignal.timeout(OPERATION_TIMEOUT_MS),
    }),
  });
}

// ---------------------------------------------------------------------------------------------
// The store

/** Server-side log line for a storage failure. Upstash error messages echo the command (note text): cut it. */
function logFailure(operation: string, error: unknown): void {
  const name = error instanceof Error ? error.name : typeof error;
  const message = (error instanceof Error ? error.message : String(error)).split(', command was:', 1)[0]?.slice(0, 200);
  console.error(`[notes] storage ${operation} failed: ${name}: ${message}`);
}

async function guarded<T>(operation: string, work: () => Promise<T>): Promise<T> {
  try {
    return await withDeadline(
      work(),
      OPERATION_TIMEOUT_MS,
      () => new Error(`timed out after ${OPERATION_TIMEOUT_MS} ms`),
    );
  } catch (error) {
    logFailure(operation, error);
    throw new NotesError('storage_failed', STORAGE_FAILED);
  }
}

// A store that answers garbage (an HTML error page, JSON of the wrong shape) fails like a store
// that is down: read as an empty organization it would hide every note behind an `ok`.

/** Keys a store answered for `prefix`: a list of strings, every one under the prefix asked for. */
function answeredKeys(keys: unknown, prefix: string): string[] {
  // unstorage iterates what its HTTP driver got, so an HTML page comes back as one key per character.
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string' && key.startsWith(prefix)))
    throw new Error('the store answered keys outside the namespace asked for');
  return keys as string[];
}

function answeredItems(items: unknown): { key: string; value: unknown }[] {
  if (!Array.isArray(items) || !items.every((item) => typeof item === 'object' && item !== null && 'key' in item))
    throw new Error('the store answered something that is not a list of items');
  for (const item of items as { value: unknown }[]) answeredValue(item.value);
  return items as { key: string; value: unknown }[];
}

/** A stored note is an object (or absent); text where an object belongs is a store answering garbage. */
function answeredValue(value: unknown): unknown {
  if (value === null || value === undefined || (typeof value === 'object' && !Array.isArray(value))) return value;
  throw new Error('the store answered a value that is not a stored object');
}

function newestFirst(a: Note, b: Note): number {
  return a.createdAt === b.createdAt ? a.id.localeCompare(b.id) : a.createdAt < b.createdAt ? 1 : -1;
}

function storeOver(storage: Storage, driver: NotesStore['driver']): NotesStore {
  return {
    driver,
    async list(orgId, { limit } = {}) {
      const prefix = orgPrefix(orgId);
      const answered = await guarded('list', async () => answeredKeys(await storage.getKeys(prefix), prefix));
      // Only direct children of the prefix with a valid id: nothing nested.
      const keys = answered.filter((key) => KEY_SEGMENT.test(key.slice(prefix.length)));
      if (keys.length === 0) return [];
      const items = await guarded('list', async () => answeredItems(await storage.getItems(keys)));
      const notes = items.flatMap(({ key, value }) => {
        const note = NoteSchema.safeParse(value);
        // A stored value must be a note and sit under its own id; anything else is skipped, not shown.
        if (!note.success || key !== `${prefix}${note.data.id}`) {
          console.warn(`[notes] skipped a malformed entry under ${prefix}`);
          return [];
        }
        return [note.data];
      });
      return notes.sort(newestFirst).slice(0, limit ?? notes.length);
    },
    async get(orgId, noteId) {
      const prefix = orgPrefix(orgId);
      if (!KEY_SEGMENT.test(noteId)) return undefined;
      const value = await guarded('get', async () => answeredValue(await storage.getItem(`${prefix}${noteId}`)));
      const note = NoteSchema.safeParse(value);
      // Only a note stored under its own id counts, as in list.
      return note.success && note.data.id === noteId ? note.data : undefined;
    },
    async create(orgId, input) {
      const prefix = orgPrefix(orgId);
      const fields = NewNoteSchema.safeParse(input);
      if (!fields.success)
        throw new NotesError('invalid_note', `Invalid note: ${fields.error.issues[0]?.path.join('.') ?? 'input'}`);
      const note: Note = { id: crypto.randomUUID(), ...fields.data, createdAt: new Date().toISOString() };
      await guarded('create', () => storage.setItem(`${prefix}${note.id}`, note));
      return note;
    },
    async remove(orgId, noteId) {
      const prefix = orgPrefix(orgId);
      // An id that cannot exist answers exactly like one that does not.
      if (!KEY_SEGMENT.test(noteId)) return false;
      const key = `${prefix}${noteId}`;
      const present = await guarded('remove', async () => {
        const answer: unknown = await storage.hasItem(key);
        if (typeof answer !== 'boolean') throw new Error('the store answered something that is not a yes or no');
        return answer;
      });
      if (!present) return false;
      await guarded('remove', () => storage.removeItem(key));
      return true;
    },
  };
}

let cached: { fingerprint: string; result: NotesStoreResult } | undefined;
let injected: NotesStore | undefined;

function build(env: Record<string, string | undefined>): NotesStoreResult {
  let backend: NotesBackend;
  try {
    backend = resolveNotesBackend(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`[notes] ${error.message}`);
    return { unavailable: `Notes storage is misconfigured: ${error.message}` };
  }
  if (backend.driver === 'none') {
    console.error(`[notes] ${NOT_CONFIGURED}`);
    return { unavailable: NOT_CONFIGURED };
  }
  return storeOver(storageFor(backend), backend.driver);
}

/** The notes store for this environment, built once per isolate (again only if the relevant variables change). */
export function notesStore(env: Record<string, string | undefined> = process.env): NotesStoreResult {
  if (injected) return injected;
  const fingerprint = JSON.stringify(Object.keys(EnvSchema.shape).map((name) => env[name] ?? null));
  if (cached?.fingerprint !== fingerprint) cached = { fingerprint, result: build(env) };
  return cached.result;
}

/** Tests: serve notes from this storage (e.g. unstorage's memory driver), or undefined to go back to the environment. */
export function setNotesStorageForTests(storage: Storage | undefined): void {
  injected = storage ? storeOver(storage, 'injected') : undefined;
  cached = undefined;
}

// ---------------------------------------------------------------------------------------------
// For the notes tools, resource and prompt

/** The store for a resource or prompt handler: unavailable throws, and the wrapper answers a fixed error. */
export function requireNotesStore(): NotesStore {
  const store = notesStore();
  if ('unavailable' in store) throw new NotesError('storage_failed', store.unavailable);
  return store;
}

/** Note ids of the caller's organization starting with `prefix`, for completion: never another organization's. */
export async function noteIdsStartingWith(organizationId: string, prefix: string): Promise<string[]> {
  const notes = await requireNotesStore().list(organizationId);
  return notes.map((note) => note.id).filter((id) => id.startsWith(prefix));
}

/**
 * Runs a notes tool's work against the store. No store, a refused organization id or a storage
 * failure all become an isError result with a fixed message; nothing internal reaches the caller.
 */
export async function withNotesStore(
  work: (store: NotesStore) => Promise<CallToolResult>,
  env: Record<string, string | undefined> = process.env,
): Promise<CallToolResult> {
  const store = notesStore(env);
  if ('unavailable' in store) return toolError(store.unavailable);
  try {
    return await work(store);
  } catch (error) {
    if (error instanceof NotesError) return toolError(error.message);
    logFailure('call', error);
    return toolError('The notes tool failed');
  }
}
