// `npm run dev` entry: the local AuthKit stand-in on :4000 next to the MCP
// server on :3000. Configuration comes from the same env vars the MCP server
// reads, so both sides agree on the resource URL and the scopes.
//
//   LOCAL_AUTH_PORT    port to listen on (default 4000); issuer is http://localhost:<port>
//   MCP_RESOURCE_URL   resource indicator tokens are issued for (default http://localhost:${PORT:-3000}/mcp)
//   AUTHKIT_DOMAIN     when set (shell or .env.local), real AuthKit is used and this server does not start
//   LOCAL_AUTH_SCOPES  space-separated resource scopes offered (default: the scopes_supported the MCP
//                      server's protected resource metadata lists at each authorization, so they follow
//                      edits to tools/; the tool registry's scopes at start while it does not answer)
//   LOCAL_AUTH_KEY_FILE  private JWKS file (default .local-auth/keys.json in the project root)
//   LOCAL_AUTH_CLIENTS_FILE  client registrations, kept across restarts (default clients.json beside the key file)
//   LOCAL_AUTH_MACHINES_FILE  the seeded machine clients' secrets (default machine-clients.json beside the key file)
//   LOCAL_AUTH_CIMD_CA_FILE  PEM CA certificate: Client ID Metadata Documents are fetched trusting
//                      only it, loopback included (a document you serve locally with a dev cert)

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { memberships, findOrganization, users } from './directory';
import { DEFAULT_KEY_FILE } from './keys';
import { loadOrCreateMachineClients } from './machines';
import { resourceScopes } from './resource-scopes';
import { startLocalAuthServer, type ScopeSource } from './server';
import { registry } from '../../tools';
import { DEV_WEBHOOK_SECRET_FILE, devResourceUrl, devSecret, loadDevEnv, PROJECT_ROOT } from '../dev-env';
import { OIDC_SCOPES } from './oidc-scopes';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`local-auth: LOCAL_AUTH_PORT=${JSON.stringify(value)} is not a valid port`);
  }
  return port;
}

function readCaFile(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(resolve(PROJECT_ROOT, path), 'utf8');
  } catch {
    throw new Error(`local-auth: LOCAL_AUTH_CIMD_CA_FILE=${JSON.stringify(path)} cannot be read`);
  }
}

function describeUsers(): string {
  return users
    .map((user) => {
      const orgs = memberships
        .filter((m) => m.userId === user.id)
        .map((m) => `${findOrganization(m.organizationId)?.name ?? m.organizationId} ${m.role.slug}`);
      return `${user.handle} (${orgs.join(', ')})`;
    })
    .join(', ');
}

async function main(): Promise<void> {
  loadDevEnv();
  if (process.env.AUTHKIT_DOMAIN) {
    console.log(
      `[local-auth] AUTHKIT_DOMAIN is set (${process.env.AUTHKIT_DOMAIN}): using it; the local authorization server is not started`,
    );
    return;
  }
  const port = parsePort(process.env.LOCAL_AUTH_PORT ?? '4000');
  const resource = devResourceUrl();
  const log = (line: string): void => console.log(`[local-auth] ${line}`);
  const fixed = process.env.LOCAL_AUTH_SCOPES?.split(/\s+/).filter(Boolean);
  // Offer exactly what the MCP server advertises in scopes_supported, asked again at each
  // authorization, so the two cannot drift apart while next dev reloads edited tools.
  const atStart = registry.scopes().filter((scope) => !OIDC_SCOPES.includes(scope));
  const scopes: ScopeSource = fixed ?? resourceScopes({ resource, fallback: atStart, log });
  const keyFile = resolve(PROJECT_ROOT, process.env.LOCAL_AUTH_KEY_FILE ?? DEFAULT_KEY_FILE);

  const machineClients = await loadOrCreateMachineClients(
    process.env.LOCAL_AUTH_MACHINES_FILE
      ? resolve(PROJECT_ROOT, process.env.LOCAL_AUTH_MACHINES_FILE)
      : join(dirname(keyFile), 'machine-clients.json'),
  );
  const server = await startLocalAuthServer({
    port,
    issuer: `http://localhost:${port}`,
    resources: [resource],
    scopes,
    keyFile,
    clientsFile: process.env.LOCAL_AUTH_CLIENTS_FILE
      ? resolve(PROJECT_ROOT, process.env.LOCAL_AUTH_CLIENTS_FILE)
      : join(dirname(keyFile), 'clients.json'),
    outboundCa: readCaFile(process.env.LOCAL_AUTH_CIMD_CA_FILE),
    machineClients,
    // `npm run revoke` sends WorkOS-shaped events to the MCP server, signed with the secret next.config.ts gives it.
    webhook: {
      url: new URL('/webhooks/workos', resource).href,
      secret: process.env.WORKOS_WEBHOOK_SECRET ?? devSecret(DEV_WEBHOOK_SECRET_FILE),
    },
    log,
  });
  console.log(`[local-auth] issuer ${server.issuer} for ${resource} · users: ${describeUsers()}`);
  console.log('[local-auth] take access back: npm run revoke -- --user alice [--consent-only]');
  console.log(
    `[local-auth] or get a token for curl: npm run token -- --user alice [--org org_acme] [--scope "${(fixed ?? atStart).join(' ')}"]`,
  );
  if (machineClients.length > 0)
    console.log(
      `[local-auth] machine clients (client_credentials): ${machineClients.map((m) => m.clientId).join(', ')}; npm run token -- --machine <client>`,
    );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1); // second Ctrl-C: don't wait
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`[local-auth] error while stopping on ${signal}:`, error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
