import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditRecords } from '../helpers/app';
import { launchChromium, signInInBrowser } from '../helpers/browser';
import { readmeClaudeDesktopServer } from '../helpers/readme';
import { startStack, type Stack } from '../helpers/stack';
import { registry } from '@/tools';

/**
 * Claude Desktop's way to a remote server: it spawns the README's `mcp-remote` entry and speaks
 * stdio JSON-RPC to it; mcp-remote does OAuth itself, printing the authorization URL when it
 * cannot open a browser. Here a person pastes that URL into Chromium and clicks. mcp-remote is
 * code nobody in this project wrote; the config is the README's block, with only the port changed.
 */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README_URL = 'http://localhost:3000/mcp';
const URL_WAIT_MS = 30_000;

let stack: Stack;
let browser: Browser;
let stopBridge: (() => Promise<void>) | undefined;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launchChromium()]);
});
// One bridge at a time, as on one desktop: instances for the same URL share a callback port.
afterEach(async () => {
  await stopBridge?.();
  stopBridge = undefined;
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
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
    const parent = frontier.pop()!;
    for (const [pid, ppid] of parents) if (ppid === parent) found.push(pid), frontier.push(pid);
  }
  return found;
}

/** Spawns the README's Claude Desktop entry against this test's server, with its own token store. */
async function spawnFromReadme(extraArgs: string[] = []) {
  const entry = readmeClaudeDesktopServer(process.env.README_FILE);
  expect(entry.args).toContain(README_URL);
  const home = await mkdtemp(join(tmpdir(), 'mcp-remote-'));
  const transport = new StdioClientTransport({
    command: entry.command,
    args: [...entry.args.map((arg) => (arg === README_URL ? stack.resource : arg)), ...extraArgs],
    cwd: PROJECT_ROOT,
    // What a desktop app passes, with a private home so no earlier token is reused.
    env: { ...getDefaultEnvironment(), ...entry.env, HOME: home, MCP_REMOTE_CONFIG_DIR: join(home, '.mcp-auth') },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'claude-desktop-like', version: '1.0.0' });
  await client.connect(transport);
  stopBridge = async () => {
    // The transport ends npx; mcp-remote below it may outlive npx and keep the callback port that
    // the next instance for this URL derives, so its descendants are found first and ended too.
    const tree = transport.pid ? await descendants(transport.pid) : [];
    await client.close().catch(() => {});
    for (const pid of tree) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(home, { recursive: true, force: true });
  };

  /**
   * The authorization URL mcp-remote printed, once its callback server listens. It prints the URL
   * before it starts that server (after trying four browser openers), so a redirect that came
   * sooner would be lost; a person copying the URL is never that fast, the test could be.
   */
  async function printedAuthorizationUrl(): Promise<string> {
    const deadline = Date.now() + URL_WAIT_MS;
    for (let i = 0; Date.now() < deadline && i < 600; i++) {
      const url = /Please authorize this client by visiting:\s*\n(\S+)/.exec(stderr)?.[1];
      if (url && /OAuth callback server running at/.test(stderr)) return url;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(
      `mcp-remote printed no authorization URL and callback server within ${URL_WAIT_MS} ms:\n${stderr.slice(-2000)}`,
    );
  }
  return { client, printedAuthorizationUrl, stderr: () => stderr };
}

// As the README has it (2025-11-25 to the server), and with `--protocol auto` (2026-07-28).
const MODES = [
  { name: 'as in the README', extraArgs: [], modern: false },
  { name: 'with --protocol auto', extraArgs: ['--protocol', 'auto'], modern: true },
];
const MODERN_BRIDGE = /Remote server speaks MCP 2026-07-28/;

describe.each(MODES)(
  'mcp-remote (the stdio bridge Claude Desktop runs) $name, a person in Chromium',
  ({ extraArgs, modern }) => {
    it('signs in through the printed URL, then whoami works through it, twice on one sign-in', {
      timeout: 120_000,
    }, async () => {
      const { client, printedAuthorizationUrl, stderr } = await spawnFromReadme(extraArgs);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(registry.tools.map((t) => t.name).sort());

      const whoami = client.callTool({ name: 'whoami', arguments: {} }, { timeout: 90_000 });
      const url = new URL(await printedAuthorizationUrl());
      expect(url.origin).toBe(new URL(stack.auth.issuer).origin);
      expect(url.searchParams.get('resource')).toBe(stack.resource);
      await signInInBrowser(browser, url, { decision: 'Allow' });

      expect(await whoami).toMatchObject({ structuredContent: { subject: 'user_alice', organizationId: 'org_acme' } });
      const again = await client.callTool({ name: 'whoami', arguments: {} }, { timeout: 30_000 });
      expect(again).toMatchObject({ structuredContent: { subject: 'user_alice', organizationId: 'org_acme' } });
      // Which wire it spoke to the server: mcp-remote says so when it bridges to 2026-07-28.
      expect(MODERN_BRIDGE.test(stderr())).toBe(modern);
      // No capability advertises listChanged, so the bridge opens no subscriptions/listen stream.
      expect(auditRecords(stack.app.output()).filter((r) => r.method === 'subscriptions/listen')).toHaveLength(0);
    });

    it('Deny: the call fails with a clear error soon after, instead of hanging', { timeout: 120_000 }, async () => {
      const { client, printedAuthorizationUrl, stderr } = await spawnFromReadme(extraArgs);
      const started = Date.now();
      const whoami = client.callTool({ name: 'whoami', arguments: {} }, { timeout: 90_000 }).then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
      await signInInBrowser(browser, await printedAuthorizationUrl(), { decision: 'Deny' });
      const outcome = await whoami;
      // The OAuth error reaches the client as the call's error, well before any timeout.
      expect(outcome).toHaveProperty('error');
      expect(String((outcome as { error: Error }).error.message), stderr().slice(-4000)).toMatch(/access_denied/);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(stderr()).not.toMatch(/access_token|refresh_token/);
    });
  },
);
