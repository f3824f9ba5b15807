import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, signInInBrowser } from '../helpers/browser';
import { readmeClaudeDesktopServer } from '../helpers/readme';
import { startStack, type Stack } from '../helpers/stack';

/**
 * A client that saved its registration comes back after the local authorization server restarted
 * without its registrations (.local-auth/clients.json deleted). mcp-remote, spawned from the README's
 * Claude Desktop block, checks the authorization URL of a saved registration with a JSON request
 * before it opens it. Before, the server answered that check, and the browser, with its HTML error
 * page, so the person saw "invalid_client" and mcp-remote waited for a redirect that never came. Had
 * it answered `invalid_client` as JSON, mcp-remote would drop the registration and register again,
 * but then not open the new URL ("A sign-in for this server is already under way"): still waiting.
 * The server now restores the registration from the request, and the person signs in once. The
 * Inspector CLI's case waits for a token to expire: tests/slow/inspector-stale-registration.test.ts.
 */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README_URL = 'http://localhost:3000/mcp';
const URL_WAIT_MS = 30_000;
const TOKEN_TTL_S = 5;

let stack: Stack;
let browser: Browser;
let authDir: string;
const authLog: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  authDir = await mkdtemp(join(tmpdir(), 'stale-registration-'));
  [stack, browser] = await Promise.all([
    startStack({
      auth: {
        clientsFile: join(authDir, 'clients.json'),
        accessTokenTtlSeconds: TOKEN_TTL_S,
        log: (line) => authLog.push(line),
      },
    }),
    launchChromium(),
  ]);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await rm(authDir, { recursive: true, force: true });
});

/** Every process below `root`, from the kernel's process table (Linux). */
async function descendants(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parents.set(Number(entry), ppid);
  }
  const found: number[] = [];
  const frontier = [root];
  while (frontier.length && found.length < 1_000) {
    const parent = frontier.pop();
    for (const [pid, ppid] of parents) {
      if (ppid === parent) {
        found.push(pid);
        frontier.push(pid);
      }
    }
  }
  return found;
}

/** The README's Claude Desktop entry against this test's server, with the given (kept) config home. */
async function spawnBridge(home: string) {
  const entry = readmeClaudeDesktopServer(process.env.README_FILE);
  const transport = new StdioClientTransport({
    command: entry.command,
    args: entry.args.map((arg) => (arg === README_URL ? stack.resource : arg)),
    cwd: PROJECT_ROOT,
    env: { ...getDefaultEnvironment(), ...entry.env, HOME: home, MCP_REMOTE_CONFIG_DIR: join(home, '.mcp-auth') },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'claude-desktop-like', version: '1.0.0' });
  await client.connect(transport);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // mcp-remote may outlive npx and keep the callback port the next instance derives.
    const tree = transport.pid ? await descendants(transport.pid) : [];
    await client.close().catch(() => {});
    for (const pid of tree) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  cleanups.push(stop);

  /**
   * The last authorization URL mcp-remote printed once its callback server listens and `accept`
   * takes it. mcp-remote prints a URL before checking it, so a refused one is followed by another.
   */
  async function authorizationUrl(accept: (url: URL) => boolean): Promise<URL> {
    const deadline = Date.now() + URL_WAIT_MS;
    for (let i = 0; Date.now() < deadline && i < 600; i++) {
      const printed = [...stderr.matchAll(/Please authorize this client by visiting:\s*\n(\S+)/g)].map(
        (m) => new URL(m[1] ?? ''),
      );
      const last = printed.at(-1);
      if (last && /OAuth callback server running at/.test(stderr) && accept(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(
      `mcp-remote printed no authorization URL it could use within ${URL_WAIT_MS} ms:\n${stderr.slice(-3000)}`,
    );
  }
  return { client, stop, authorizationUrl, stderr: () => stderr };
}

describe('mcp-remote with a saved registration the authorization server no longer knows', () => {
  it('signs in once with it, instead of waiting on an error page', { timeout: 180_000 }, async () => {
    const home = await mkdtemp(join(tmpdir(), 'mcp-remote-stale-'));
    cleanups.push(() => rm(home, { recursive: true, force: true }));

    // First session: registers, the person signs in, the registration and tokens are saved.
    const first = await spawnBridge(home);
    const firstCall = first.client.callTool({ name: 'whoami', arguments: {} }, { timeout: 90_000 });
    firstCall.catch(() => {}); // awaited below; a bridge stopped on failure must not leave it unhandled
    const firstUrl = await first.authorizationUrl(() => true);
    await signInInBrowser(browser, firstUrl, { decision: 'Allow' });
    expect(await firstCall).toMatchObject({ structuredContent: { subject: 'user_alice' } });
    const savedClientId = firstUrl.searchParams.get('client_id');
    expect(savedClientId).toBeTruthy();
    await first.stop();

    // The authorization server restarts without its registrations.
    await stack.restartAuth(() => rm(join(authDir, 'clients.json'), { force: true }));
    // mcp-remote keeps client_info.json but drops tokens.json when the scopes it asks for change
    // (a tool added one, so the resource metadata lists another); this puts it in that state
    // without rebuilding the app.
    const configDir = join(home, '.mcp-auth');
    const stores = await readdir(configDir);
    let dropped = 0;
    for (const store of stores) {
      for (const file of await readdir(join(configDir, store)).catch(() => [])) {
        if (file.endsWith('_tokens.json')) {
          await rm(join(configDir, store, file));
          dropped++;
        }
      }
    }
    expect(dropped, 'mcp-remote saved its tokens where this test looks').toBe(1);

    const second = await spawnBridge(home);
    const started = Date.now();
    const secondCall = second.client.callTool({ name: 'whoami', arguments: {} }, { timeout: 90_000 });
    secondCall.catch(() => {}); // awaited below; a bridge stopped on failure must not leave it unhandled
    const url = await second.authorizationUrl(() => true);
    expect(url.origin).toBe(new URL(stack.auth.issuer).origin);
    expect(url.searchParams.get('client_id')).toBe(savedClientId);
    await signInInBrowser(browser, url, { decision: 'Allow' });
    expect(await secondCall).toMatchObject({
      structuredContent: { subject: 'user_alice', organizationId: 'org_acme' },
    });
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(authLog.join('\n')).toContain(`client ${savedClientId} was not registered`);
    expect(second.stderr()).not.toMatch(/already under way/);
  });
});
