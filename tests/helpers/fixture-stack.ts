import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditRecord } from '@/lib/audit/record';
import { type Config, loadConfig } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import type { GovernanceOptions } from '@/lib/endpoint/governance';
import { createWorkosWebhookEndpoint } from '@/lib/endpoint/webhook';
import type { SharedStore } from '@/lib/shared-state';
import { methodNotAllowed } from '@/lib/http/answers';
import { protectedResourceMetadata, publicJson } from '@/lib/metadata';
import type { Registry } from '@/lib/registry';
import {
  type LocalAuthServer,
  type LocalAuthServerOptions,
  startLocalAuthServer,
} from '../../scripts/local-auth/server';
import type { WorkosApiHandler } from '../../scripts/local-auth/workos-api';
import { DEV_INTROSPECTION_CLIENT_ID, DEV_INTROSPECTION_CLIENT_SECRET } from '@/lib/revocation/config';
import { TEST_REQUEST_STATE_KEY } from './app';
import { createFixtureApp } from './fixture-app';
import { type Listening, serveFetchHandler } from './net';

/**
 * The framework with a registry of the test's own (tests/helpers/fixture-app.ts by default), served
 * in process over real HTTP on 127.0.0.1 like the app serves it (POST /mcp, 405 otherwise, the
 * protected resource metadata), and the real local authorization server offering its scopes. For
 * framework behaviour real clients drive (sign-in, step-up, client ids, roles) whatever tools/ holds.
 */
export type FixtureStack = {
  server: Listening;
  auth: LocalAuthServer;
  resource: string;
  registry: Registry;
  /** Audit records written while the stack ran. */
  records: AuditRecord[];
  /** The authorization server's private JWKS file, for tests that sign what it would never issue. */
  keyFile: string;
  close(): Promise<void>;
};

export async function startFixtureStack(
  options: {
    registry?: Registry;
    extraResources?: string[];
    env?: Record<string, string> | ((auth: LocalAuthServer) => Record<string, string>);
    workosApi?: WorkosApiHandler;
    auth?: Pick<LocalAuthServerOptions, 'outboundCa' | 'log' | 'machineClients' | 'environmentClientId'>;
    /**
     * Revocation: the shared store (a real Redis in tests), and the webhook secret the authorization
     * server's `/dev/revoke` signs its events with, delivered to this server's /webhooks/workos.
     * The endpoint introspects with the authorization server's development client.
     */
    revocation?: { store: () => SharedStore; webhookSecret: string; env?: Record<string, string> };
  } = {},
): Promise<FixtureStack> {
  const registry = options.registry ?? createFixtureApp();
  const dir = await mkdtemp(join(tmpdir(), 'mcp-fixture-'));
  const records: AuditRecord[] = [];

  let config: Config | undefined;
  const configured = () => {
    if (!config) throw new Error('fixture config used before the server listened');
    return config;
  };
  const revocation = options.revocation;
  const governance: GovernanceOptions | undefined = revocation && {
    store: revocation.store,
    env: () => ({
      WORKOS_WEBHOOK_SECRET: revocation.webhookSecret,
      MCP_INTROSPECTION_CLIENT_ID: DEV_INTROSPECTION_CLIENT_ID,
      MCP_INTROSPECTION_CLIENT_SECRET: DEV_INTROSPECTION_CLIENT_SECRET,
      ...revocation.env,
    }),
  };
  const auditLine = (record: AuditRecord) => records.push(record);
  const endpoint = createMcpEndpoint({ registry, config: configured, auditLine, governance });
  const webhooks = createWorkosWebhookEndpoint({ config: configured, auditLine, governance });
  // The resource URL holds the port, so the server binds first and is configured once it listens.
  const server = await serveFetchHandler(async (request) => {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith('/.well-known/oauth-protected-resource') && config)
      return publicJson(protectedResourceMetadata(config, registry.scopes()), { maxAge: 0 });
    if (pathname === '/webhooks/workos' && revocation && request.method === 'POST') return webhooks(request);
    if (pathname !== '/mcp') return new Response(null, { status: 404 });
    if (request.method !== 'POST') return methodNotAllowed('POST');
    return endpoint(request);
  });
  const resource = `${server.url}/mcp`;
  const auth = await startLocalAuthServer({
    port: 0,
    resources: [resource, ...(options.extraResources ?? [])],
    scopes: registry.scopes(),
    keyFile: join(dir, 'keys.json'),
    workosApi: options.workosApi,
    ...(revocation ? { webhook: { url: `${server.url}/webhooks/workos`, secret: revocation.webhookSecret } } : {}),
    ...options.auth,
  });
  config = loadConfig({
    NODE_ENV: 'production',
    AUTHKIT_DOMAIN: auth.issuer,
    MCP_RESOURCE_URL: resource,
    MCP_REQUEST_STATE_KEY: TEST_REQUEST_STATE_KEY,
    ...(typeof options.env === 'function' ? options.env(auth) : options.env),
  });
  return {
    server,
    auth,
    resource,
    registry,
    records,
    keyFile: join(dir, 'keys.json'),
    close: async () => {
      await Promise.all([server.close(), auth.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
