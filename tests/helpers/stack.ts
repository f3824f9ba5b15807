import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startLocalAuthServer,
  type LocalAuthServer,
  type LocalAuthServerOptions,
} from '../../scripts/local-auth/server';
import { startStorageServer, type StorageServer } from '../../scripts/storage-server';
import type { WorkosApiHandler } from '../../scripts/local-auth/workos-api';
import { DEV_INTROSPECTION_CLIENT_ID, DEV_INTROSPECTION_CLIENT_SECRET } from '@/lib/revocation/config';
import { registry } from '@/tools';
import { startApp, type RunningApp } from './app';
import { freePort, retryOnPortInUse } from './net';

/**
 * What `npm run dev` runs, on free loopback ports and temp dirs: the built app (next start), the
 * local authorization server offering the registry's scopes, and the notes store.
 */
export type Stack = {
  app: RunningApp;
  auth: LocalAuthServer;
  store: StorageServer;
  resource: string;
  /**
   * Stops the authorization server, runs `between` (say, deleting its registrations file), and
   * starts it again as before: same port, key file, options. `auth` is the new one afterwards.
   */
  restartAuth(between?: () => Promise<void>): Promise<LocalAuthServer>;
  close(): Promise<void>;
};

export async function startStack(
  options: {
    extraResources?: string[];
    /** Extra app environment; a function when it depends on the running authorization server. */
    env?: Record<string, string> | ((auth: LocalAuthServer) => Record<string, string>);
    workosApi?: WorkosApiHandler;
    /** More authorization server options (a development CA for metadata documents, a log, a registrations file, a token lifetime). */
    auth?: Pick<LocalAuthServerOptions, 'outboundCa' | 'log' | 'clientsFile' | 'accessTokenTtlSeconds'>;
  } = {},
): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-stack-'));
  const store = await startStorageServer({ port: 0, dir: join(dir, 'notes') });
  // The app's port is in the resource URL the authorization server is configured with, so it is
  // chosen first; when another process takes it before next binds it, both start again on a new one.
  const authOptions = (resource: string): LocalAuthServerOptions => ({
    port: 0,
    resources: [resource, ...(options.extraResources ?? [])],
    scopes: registry.scopes(),
    keyFile: join(dir, 'keys.json'),
    workosApi: options.workosApi,
    ...options.auth,
  });
  const started = retryOnPortInUse(async () => {
    const port = await freePort();
    const resource = `http://127.0.0.1:${port}/mcp`;
    const auth = await startLocalAuthServer(authOptions(resource));
    try {
      const app = await startApp(
        {
          AUTHKIT_DOMAIN: auth.issuer,
          MCP_RESOURCE_URL: resource,
          NOTES_STORAGE_URL: store.url,
          // Primitives that need a live token introspect at this authorization server, as its own client.
          MCP_INTROSPECTION_CLIENT_ID: DEV_INTROSPECTION_CLIENT_ID,
          MCP_INTROSPECTION_CLIENT_SECRET: DEV_INTROSPECTION_CLIENT_SECRET,
          ...(typeof options.env === 'function' ? options.env(auth) : options.env),
        },
        { port },
      );
      return { app, auth, resource };
    } catch (error) {
      await auth.close();
      throw error;
    }
  });
  const { app, auth, resource } = await started.catch(async (error: unknown) => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  const stack: Stack = {
    app,
    auth,
    store,
    resource,
    restartAuth: async (between) => {
      await stack.auth.close();
      await between?.();
      stack.auth = await startLocalAuthServer({ ...authOptions(resource), port: stack.auth.port });
      return stack.auth;
    },
    close: async () => {
      await app.stop();
      await stack.auth.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return stack;
}
