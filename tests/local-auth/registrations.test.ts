// @vitest-environment node
// Client registrations survive a restart (MCP clients save their client_id and come back with it),
// in a file only its owner can read, and stay per server: two servers in one process never share them.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadClientRegistrations, MAX_CLIENTS } from '../../scripts/local-auth/clients';
import type { LocalAuthServer, LocalAuthServerOptions } from '../../scripts/local-auth/server';
import {
  authorizeOverHttp,
  createPkcePair,
  discover,
  registerPublicClient,
  type AuthorizationServerMetadata,
} from '../../scripts/oauth-client/flow';
import { RESOURCE, makeTempDir, startTestServer } from './helpers';

let tmp: { dir: string; remove: () => Promise<void> };
const servers: LocalAuthServer[] = [];

beforeAll(async () => {
  tmp = await makeTempDir();
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await tmp?.remove();
});

async function start(overrides: Partial<LocalAuthServerOptions> = {}): Promise<LocalAuthServer> {
  const server = await startTestServer(join(tmp.dir, 'keys.json'), overrides);
  servers.push(server);
  return server;
}

/** Signs in with an already registered client and redeems the code: what a client that saved its client_id does. */
async function signInWith(
  metadata: AuthorizationServerMetadata,
  client: { clientId: string; redirectUri: string },
): Promise<Response> {
  const pkce = createPkcePair();
  const url = new URL(metadata.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    scope: 'notes:read',
    state: 'st',
    code_challenge: pkce.challenge,
    code_challenge_method: 'S256',
    resource: RESOURCE,
  }).toString();
  const callback = await authorizeOverHttp({ authorizationUrl: url, user: 'alice' });
  return fetch(metadata.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: client.clientId,
      code: callback.searchParams.get('code') ?? '',
      redirect_uri: client.redirectUri,
      code_verifier: pkce.verifier,
    }),
  });
}

/**
 * Whether the server knows a client_id, asked at the token endpoint with a refresh token nobody
 * issued: `invalid_grant` for a known client, `invalid_client` for an unknown one.
 */
async function knows(server: LocalAuthServer, clientId: string): Promise<boolean> {
  const res = await fetch((await discover(server.issuer)).token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'none', client_id: clientId }),
  });
  const { error } = (await res.json()) as { error?: string };
  if (error !== 'invalid_grant' && error !== 'invalid_client')
    throw new Error(`unexpected answer ${res.status} ${error}`);
  return error === 'invalid_grant';
}

describe('client registrations', () => {
  it('survive a restart, kept in a file only its owner can read', async () => {
    const clientsFile = join(tmp.dir, 'restart', 'clients.json');
    const before = await start({ clientsFile });
    const client = await registerPublicClient(await discover(before.issuer), { clientName: 'saved its client_id' });
    await before.close();
    expect((await stat(clientsFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(tmp.dir, 'restart'))).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(await readFile(clientsFile, 'utf8')) as { clients: Record<string, unknown> };
    expect(saved.clients[client.clientId]).toMatchObject({
      client_id: client.clientId,
      client_name: 'saved its client_id',
    });

    const after = await start({ clientsFile, port: before.port });
    const res = await signInWith(await discover(after.issuer), client);
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.access_token).toBeTypeOf('string');
  });

  it('are per server: one without a file, or with another file, does not know them', async () => {
    const first = await start({ clientsFile: join(tmp.dir, 'first.json') });
    const client = await registerPublicClient(await discover(first.issuer));
    expect(await knows(first, client.clientId)).toBe(true);

    const inMemory = await start();
    const other = await start({ clientsFile: join(tmp.dir, 'second.json') });
    for (const server of [inMemory, other]) expect(await knows(server, client.clientId)).toBe(false);
    // and what they register stays with them
    const local = await registerPublicClient(await discover(inMemory.issuer));
    expect(await knows(first, local.clientId)).toBe(false);
    expect(await knows(other, local.clientId)).toBe(false);
  });

  it(`keeps at most ${MAX_CLIENTS}, dropping the oldest`, async () => {
    const file = join(tmp.dir, 'many.json');
    const store = await loadClientRegistrations(file);
    for (let i = 0; i <= MAX_CLIENTS; i++) void store.set(`c${i}`, { client_id: `c${i}` });
    await store.flush();
    expect(store.size).toBe(MAX_CLIENTS);
    expect(store.get('c0')).toBeUndefined();
    expect(store.get(`c${MAX_CLIENTS}`)).toEqual({ client_id: `c${MAX_CLIENTS}` });
    const reread = await loadClientRegistrations(file);
    expect(reread.size).toBe(MAX_CLIENTS);
    expect(reread.get('c1')).toEqual({ client_id: 'c1' });
  });

  it('refuses a file that is not a registrations file, and leaves it as it was', async () => {
    const file = join(tmp.dir, 'corrupt.json');
    await writeFile(file, '{"clients": [1, 2]}');
    await expect(start({ clientsFile: file })).rejects.toThrow(/not a client registrations file; delete it/);
    expect(await readFile(file, 'utf8')).toBe('{"clients": [1, 2]}');
  });
});
