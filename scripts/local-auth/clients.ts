// Client registrations of the local authorization server, kept in a private
// JSON file like its signing keys (keys.ts), so MCP clients that saved their
// client_id (mcp-remote, the MCP Inspector) keep working when `npm run dev`
// restarts. A registration may carry a client_secret, so the file is 0600 in a
// 0700 directory under the gitignored .local-auth/.

import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';

/** Default location, relative to the project root, beside the signing keys. */
export const DEFAULT_CLIENTS_FILE = '.local-auth/clients.json';

/**
 * Most registrations kept; the oldest goes first. Every `npm run token` registers a client, so
 * without a bound the file would only grow. A client whose registration went answers
 * `invalid_client` and registers again (server.ts).
 */
export const MAX_CLIENTS = 500;

const ClientsFile = z.object({
  clients: z.record(z.string().min(1), z.record(z.string(), z.unknown())),
});

export interface ClientRegistrations {
  get(id: string): Record<string, unknown> | undefined;
  set(id: string, payload: Record<string, unknown>): Promise<void>;
  delete(id: string): Promise<void>;
  readonly size: number;
  /** Resolves once every change made so far is on disk. */
  flush(): Promise<void>;
}

function isErrnoException(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}

async function readRegistrations(path: string): Promise<Map<string, Record<string, unknown>>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isErrnoException(error, 'ENOENT')) return new Map();
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = ClientsFile.safeParse(json);
  if (!parsed.success) {
    throw new Error(`local-auth: ${path} is not a client registrations file; delete it (clients then register again)`);
  }
  // Only entries filed under their own client_id; anything else could not have come from here.
  return new Map(Object.entries(parsed.data.clients).filter(([id, payload]) => payload.client_id === id));
}

/**
 * Reads the registrations in `file` (none when it does not exist yet) and writes every change back,
 * one write at a time, each to a temporary file renamed over the old one, so a crash never leaves
 * half a file.
 */
export async function loadClientRegistrations(
  file: string,
  log: ((line: string) => void) | undefined = undefined,
): Promise<ClientRegistrations> {
  const path = resolve(file);
  const registrations = await readRegistrations(path);
  let written: Promise<void> = Promise.resolve();
  let queued = false;

  const writeNow = async (): Promise<void> => {
    queued = false;
    const body = `${JSON.stringify({ clients: Object.fromEntries(registrations) }, null, 2)}\n`;
    const temporary = join(dirname(path), `.clients.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(temporary, body, { mode: 0o600 });
    // `mode` is filtered through the umask; a registration may hold a client_secret.
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  };

  // Changes made while a write runs are picked up by one more write after it.
  const save = (): Promise<void> => {
    if (!queued) {
      queued = true;
      written = written.then(writeNow).catch((error: unknown) => {
        log?.(
          `could not save client registrations to ${path}: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
    }
    return written;
  };

  return {
    get: (id) => registrations.get(id),
    set(id, payload) {
      registrations.delete(id); // re-registered: now the newest
      registrations.set(id, payload);
      for (const oldest of registrations.keys()) {
        if (registrations.size <= MAX_CLIENTS) break;
        registrations.delete(oldest);
      }
      return save();
    },
    delete(id) {
      return registrations.delete(id) ? save() : Promise.resolve();
    },
    get size() {
      return registrations.size;
    },
    flush: () => written,
  };
}
