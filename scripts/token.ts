// Mint an access token from the running local authorization server by going
// through the real OAuth flow (DCR, PKCE, sign-in + consent as form POSTs).
//
//   npx tsx scripts/token.ts --user alice [--org org_acme] [--scope "notes:read"]
//                            [--resource http://localhost:3000/mcp] [--issuer http://localhost:4000]
//
//   npx tsx scripts/token.ts --machine client_local_report_job [--scope "notes:read"]
//
// --machine gets a machine's token through the client_credentials grant instead, with the secret the
// local authorization server generated for that seeded client (.local-auth/machine-clients.json);
// its scopes default to the client's approval in tools/approvals.ts (else every scope offered).
//
// Prints only the access token on stdout, so `TOKEN=$(npx tsx scripts/token.ts --user bob)` works.
// The defaults are what `npm run dev` uses, from the shell or .env.local: the resource
// MCP_RESOURCE_URL or http://localhost:${PORT:-3000}/mcp, the issuer
// http://localhost:${LOCAL_AUTH_PORT:-4000}; the scopes default to all the server offers.

import { parseArgs } from 'node:util';
import { dirname, join, resolve } from 'node:path';
import { registry } from '../tools';
import { findUser, organizationsOf, users } from './local-auth/directory';
import { DEFAULT_KEY_FILE } from './local-auth/keys';
import { machineSecret, SEEDED_MACHINES } from './local-auth/machines';
import { devResourceUrl, loadDevEnv, PROJECT_ROOT } from './dev-env';
import { discover, machineToken, mintToken, OAuthFlowError, type TokenSet } from './oauth-client/flow';
import { OIDC_SCOPES } from './local-auth/oidc-scopes';

const USAGE = `usage: tsx scripts/token.ts --user <${users.map((u) => u.handle).join('|')}> [--org <id>] [--scope "<scopes>"] [--resource <url>] [--issuer <url>]
       tsx scripts/token.ts --machine <${SEEDED_MACHINES.map((m) => m.clientId).join('|')}> [--scope "<scopes>"] [--resource <url>] [--issuer <url>]`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if ('code' in current && typeof current.code === 'string') return current.code;
    current = current.cause;
  }
  return undefined;
}

function parseCli() {
  try {
    return parseArgs({
      options: {
        user: { type: 'string' },
        machine: { type: 'string' },
        org: { type: 'string' },
        scope: { type: 'string' },
        resource: { type: 'string' },
        issuer: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
}

/** Why a sign-in ended in access_denied when nothing was denied: none of the scopes asked for is offered. */
async function scopeHint(issuer: string, scope: string | undefined): Promise<string> {
  if (!scope) return '';
  const offered = await discover(issuer).then(
    (metadata) => (metadata.scopes_supported ?? []).filter((s) => !OIDC_SCOPES.includes(s)),
    () => undefined,
  );
  if (!offered) return '';
  const missing = scope.split(/\s+/).filter((s) => s && !offered.includes(s) && !OIDC_SCOPES.includes(s));
  return missing.length
    ? ` (not offered by ${issuer}: ${missing.join(' ')}; it offers: ${offered.join(' ') || 'none'}. A scope is offered once a tool requires it and next dev has reloaded it.)`
    : '';
}

async function main(): Promise<void> {
  loadDevEnv();
  const values = parseCli();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.user && values.machine) fail(`--user and --machine exclude each other\n${USAGE}`);
  if (!values.user && !values.machine) fail(`--user or --machine is required\n${USAGE}`);
  const issuer =
    values.issuer ?? process.env.LOCAL_AUTH_ISSUER ?? `http://localhost:${process.env.LOCAL_AUTH_PORT ?? '4000'}`;
  const resource = values.resource ?? devResourceUrl();
  if (values.machine) {
    await run(issuer, values.scope, () => forMachine(values.machine ?? '', issuer, resource, values.scope));
    return;
  }
  const user = findUser(values.user ?? '');
  if (!user)
    fail(`unknown user ${JSON.stringify(values.user)}; seeded users: ${users.map((u) => u.handle).join(', ')}`);
  const orgs = organizationsOf(user.id);
  const org = values.org ?? orgs[0]?.id;
  if (!org || !orgs.some((o) => o.id === org)) {
    fail(
      `${user.handle} is not a member of ${values.org ?? 'any organization'}; member of: ${orgs.map((o) => o.id).join(', ') || 'none'}`,
    );
  }

  await run(issuer, values.scope, () => mintToken({ issuer, user: user.id, org, scope: values.scope, resource }));
}

/** A seeded machine's token; its scopes default to its approval's ceiling, so the server accepts it. */
async function forMachine(clientId: string, issuer: string, resource: string, scope: string | undefined) {
  if (!SEEDED_MACHINES.some((m) => m.clientId === clientId))
    fail(
      `unknown machine client ${JSON.stringify(clientId)}; seeded: ${SEEDED_MACHINES.map((m) => m.clientId).join(', ')}`,
    );
  const keyFile = resolve(PROJECT_ROOT, process.env.LOCAL_AUTH_KEY_FILE ?? DEFAULT_KEY_FILE);
  // Where the local authorization server keeps them (scripts/local-auth/main.ts): beside its key file.
  const file = process.env.LOCAL_AUTH_MACHINES_FILE
    ? resolve(PROJECT_ROOT, process.env.LOCAL_AUTH_MACHINES_FILE)
    : join(dirname(keyFile), 'machine-clients.json');
  const clientSecret = await machineSecret(file, clientId);
  if (!clientSecret)
    fail(`no secret for ${clientId} in ${file} yet: start the local authorization server (npm run dev) once`);
  // Without --scope: what its approval allows, else (an unapproved client, refused by the server
  // anyway) every scope the issuer offers, as for a person.
  const approved = registry.approvals.find((a) => a.clientId === clientId)?.scopes.join(' ');
  const offered = async () =>
    ((await discover(issuer)).scopes_supported ?? []).filter((s) => !OIDC_SCOPES.includes(s)).join(' ');
  return machineToken({ issuer, clientId, clientSecret, resource, scope: scope ?? approved ?? (await offered()) });
}

async function run(issuer: string, scope: string | undefined, get: () => Promise<TokenSet>): Promise<void> {
  try {
    const token = await get();
    process.stdout.write(`${token.accessToken}\n`);
  } catch (error) {
    const code = causeCode(error);
    if (code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ENOTFOUND') {
      fail(
        `cannot reach the local auth server at ${issuer} (${code}). Start it with \`npm run dev\` or \`npx tsx scripts/local-auth/main.ts\`.`,
      );
    }
    const hint =
      error instanceof OAuthFlowError && error.error === 'access_denied' ? await scopeHint(issuer, scope) : '';
    fail(`token request failed: ${error instanceof Error ? error.message : String(error)}${hint}`);
  }
}

void main();
