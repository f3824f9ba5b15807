// The local development store for notes: unstorage's storage handler over the fs driver,
// on 127.0.0.1 only. The MCP server reaches it with unstorage's http driver (tools/notes/store.ts),
// which is its default outside production.
//
//   npx tsx scripts/storage-server.ts
//
//   NOTES_STORAGE_PORT  port on 127.0.0.1 (default 4100); point NOTES_STORAGE_URL at it if you change it
//
// Data lives in .local-data/notes (gitignored), one file per note: notes/<orgId>/<noteId>.
// Never for production: it refuses to start when NODE_ENV=production.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createApp, createError, getRequestHeader, toNodeListener } from 'h3';
import { createStorage } from 'unstorage';
import fsDriver from 'unstorage/drivers/fs';
import { createH3StorageHandler } from 'unstorage/server';
import { isLoopbackHost } from '../lib/config';

export const DEFAULT_PORT = 4100;
export const DEFAULT_DIR = fileURLToPath(new URL('../.local-data/notes', import.meta.url));

export type StorageServer = { url: string; port: number; close(): Promise<void> };

/**
 * Starts the store on 127.0.0.1. `port: 0` picks a free port (tests).
 * Only keys under `notes:` are served, whole-namespace deletes are refused, and requests must
 * name a loopback Host (a web page cannot reach it through DNS rebinding).
 */
export async function startStorageServer({
  port = DEFAULT_PORT,
  dir = DEFAULT_DIR,
}: {
  port?: number;
  dir?: string;
} = {}): Promise<StorageServer> {
  if (process.env.NODE_ENV === 'production') {
    throw new Error(
      'storage-server: refusing to start with NODE_ENV=production; use Upstash Redis (UPSTASH_REDIS_REST_URL) in production',
    );
  }
  const storage = createStorage({ driver: fsDriver({ base: dir }) });
  const handler = createH3StorageHandler(storage, {
    authorize: ({ key, type, event }) => {
      const host = getRequestHeader(event, 'host') ?? '';
      let hostname = '';
      try {
        hostname = new URL(`http://${host}`).hostname;
      } catch {
        // empty hostname: refused below
      }
      if (!isLoopbackHost(hostname)) throw createError({ statusCode: 403, statusMessage: 'Loopback Host required' });
      if (key !== 'notes' && !key.startsWith('notes:'))
        throw createError({ statusCode: 403, statusMessage: 'Only notes:* keys' });
      if (type === 'write' && key.endsWith(':'))
        throw createError({ statusCode: 403, statusMessage: 'Clearing a namespace is not allowed' });
    },
  });
  // Not createStorageServer: it builds its app with { debug: true }, which puts stack traces in error responses.
  const app = createApp();
  app.use(handler);
  const server = createServer(toNodeListener(app));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await storage.dispose();
    },
  };
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`NOTES_STORAGE_PORT: must be an integer from 1 to 65535, got ${JSON.stringify(raw)}`);
  }
  return port;
}

async function main(): Promise<void> {
  const server = await startStorageServer({ port: parsePort(process.env.NOTES_STORAGE_PORT), dir: DEFAULT_DIR });
  console.log(`[storage] notes store on ${server.url} (data in .local-data/notes)`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1); // second Ctrl-C: don't wait
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`[storage] error while stopping on ${signal}:`, error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  main().catch((error: unknown) => {
    console.error(`[storage] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
