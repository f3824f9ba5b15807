// @vitest-environment node
// The authorization server as `npm run dev` starts it (scripts/local-auth/main.ts, its own process):
// it offers what the MCP server's protected resource metadata lists now, LOCAL_AUTH_SCOPES
// overrides that, and client registrations land beside the signing key, 0600, and outlive a restart.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { discover, mintToken, registerPublicClient } from '../../scripts/oauth-client/flow';
import { freePort } from '../helpers/net';
import { makeTempDir } from './helpers';

const START_LIMIT_MS = 30_000;

let tmp: { dir: string; remove: () => Promise<void> };
let metadataServer: Server;
let resource: string;
/** What the stand-in MCP server lists in scopes_supported; tests change it as an edit to tools/ would. */
let listed: string[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  tmp = await makeTempDir();
  metadataServer = createServer((req, res) => {
    if (req.url !== '/.well-known/oauth-protected-resource/mcp') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ resource, authorization_servers: [], scopes_supported: listed }));
  });
  await new Promise<void>((resolve) => metadataServer.listen(0, '127.0.0.1', resolve));
  resource = `http://localhost:${(metadataServer.address() as AddressInfo).port}/mcp`;
});
afterEach(async () => {
  await Promise.all(children.splice(0).map(stop));
});
afterAll(async () => {
  metadataServer?.closeAllConnections();
  await new Promise<void>((resolve) => (metadataServer ? metadataServer.close(() => resolve()) : resolve()));
  await tmp?.remove();
});

/** Ends the process (SIGTERM, as concurrently does on Ctrl-C) and waits, bounded, for it to exit. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Starts main.ts the way `npm run dev` does and waits for its ready line. */
async function startMain(env: Record<string, string>): Promise<{ issuer: string; output: () => string }> {
  const port = await freePort();
  const {
    LOCAL_AUTH_SCOPES: _scopes,
    LOCAL_AUTH_CLIENTS_FILE: _clients,
    AUTHKIT_DOMAIN: _authkit,
    ...inherited
  } = process.env;
  // One process (tsx as a loader, not its CLI's child), so the signal reaches the server itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/local-auth/main.ts'], {
    env: {
      ...inherited,
      NODE_ENV: 'development',
      AUTHKIT_DOMAIN: '', // set but empty: a developer's .env.local cannot switch to AuthKit here
      LOCAL_AUTH_PORT: String(port),
      MCP_RESOURCE_URL: resource,
      LOCAL_AUTH_KEY_FILE: join(tmp.dir, 'keys.json'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + START_LIMIT_MS;
  while (!/npm run token/.test(output)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      throw new Error(`main.ts did not start (exit ${child.exitCode}):\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { issuer: `http://localhost:${port}`, output: () => output };
}

async function offered(issuer: string): Promise<string[]> {
  const metadata = await discover(issuer);
  return (metadata.scopes_supported ?? []).filter((s) => !['openid', 'profile', 'email', 'offline_access'].includes(s));
}

describe('the local authorization server npm run dev starts', () => {
  it("offers the scopes the MCP server's metadata lists at each request, following a change", async () => {
    listed = ['tool:read'];
    const { issuer, output } = await startMain({});
    expect(await offered(issuer)).toEqual(['tool:read']);

    listed = ['tool:read', 'weather:read']; // next dev reloaded a tool that requires weather:read
    expect(await offered(issuer)).toEqual(['tool:read', 'weather:read']);
    const token = await mintToken({ issuer, user: 'alice', scope: 'weather:read', resource });
    expect(token.scope).toBe('weather:read');
    expect(output()).toContain('offering the scopes');
  });

  it('offers exactly LOCAL_AUTH_SCOPES when it is set', async () => {
    listed = ['tool:read'];
    const { issuer } = await startMain({ LOCAL_AUTH_SCOPES: 'fixed:one fixed:two' });
    expect(await offered(issuer)).toEqual(['fixed:one', 'fixed:two']);
  });

  it('keeps registrations in clients.json beside the key file (0600) across a restart', async () => {
    listed = ['tool:read'];
    const keyDir = join(tmp.dir, 'restart');
    const env = { LOCAL_AUTH_KEY_FILE: join(keyDir, 'keys.json') };
    const first = await startMain(env);
    const { clientId } = await registerPublicClient(await discover(first.issuer));
    await Promise.all(children.splice(0).map(stop));
    expect((await stat(join(keyDir, 'clients.json'))).mode & 0o777).toBe(0o600);

    const second = await startMain(env);
    // A known client with a refresh token nobody issued gets invalid_grant; an unknown one invalid_client.
    const res = await fetch((await discover(second.issuer)).token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'none', client_id: clientId }),
    });
    expect(((await res.json()) as { error?: string }).error, 'the client registered before the restart is known').toBe(
      'invalid_grant',
    );
  });
});
