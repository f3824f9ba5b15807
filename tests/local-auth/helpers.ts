// Shared setup for the local-auth tests: a server on 127.0.0.1 with a random
// port and a key file in a fresh temp dir, closed by the caller in afterAll.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import {
  startLocalAuthServer,
  type LocalAuthServer,
  type LocalAuthServerOptions,
} from '../../scripts/local-auth/server';

export const RESOURCE = 'http://localhost:3000/mcp';
export const SCOPES = ['notes:read', 'notes:write'];

export async function makeTempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'local-auth-test-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function startTestServer(
  keyFile: string,
  overrides: Partial<LocalAuthServerOptions> = {},
): Promise<LocalAuthServer> {
  return startLocalAuthServer({
    port: 0,
    host: '127.0.0.1',
    resources: [RESOURCE],
    scopes: SCOPES,
    keyFile,
    ...overrides,
  });
}

/**
 * One server for the whole file, with its own key file, started before the tests and closed (key
 * file removed) after them. Returns an accessor, since the server exists only once beforeAll ran.
 */
export function useTestServer(overrides: Partial<LocalAuthServerOptions> = {}): () => LocalAuthServer {
  let server: LocalAuthServer | undefined;
  let remove: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const tmp = await makeTempDir();
    remove = tmp.remove;
    server = await startTestServer(join(tmp.dir, 'keys.json'), overrides);
  });
  afterAll(async () => {
    await server?.close();
    await remove?.();
  });
  return () => {
    if (!server) throw new Error('the local auth server is not started yet (use it inside a test)');
    return server;
  };
}
