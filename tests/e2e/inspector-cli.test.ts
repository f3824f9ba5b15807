import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, signInInBrowser } from '../helpers/browser';
import { freePort } from '../helpers/net';
import { startStack, type Stack } from '../helpers/stack';

/**
 * MCP Inspector 2.x's CLI, a client nobody in this project wrote: run as a person runs it in a
 * terminal, it prints "Please navigate to: <authorization URL>" and waits on its loopback callback;
 * the person opens the URL in Chromium and clicks. Its secrets go to a file under a private HOME,
 * so a second command reuses the sign-in like a person's second command does.
 */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN_LIMIT_MS = 60_000;

let stack: Stack;
let browser: Browser;
const homes: string[] = [];

beforeAll(async () => {
  [stack, browser] = await Promise.all([startStack(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

type Run = { code: number | null; stdout: string; stderr: string };

/**
 * `npx mcp-inspector --cli <url> …`. Without a TTY the Inspector refuses interactive OAuth unless
 * MCP_AUTO_OPEN_ENABLED=true (its documented switch); it then tries to open a browser, cannot (no
 * display here), and prints the URL, which `onAuthorizationUrl` hands to the person.
 */
function inspector(
  home: string,
  args: string[],
  callbackUrl: string,
  onAuthorizationUrl?: (url: string) => Promise<void>,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    // A person's shell: PATH and HOME, nothing of the test runner's (no NODE_ENV).
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      MCP_AUTO_OPEN_ENABLED: 'true',
      MCP_INSPECTOR_SECRET_STORE: 'file',
      MCP_OAUTH_CALLBACK_URL: callbackUrl,
    };
    const child = spawn('npx', ['mcp-inspector', '--cli', stack.resource, '--format', 'json', ...args], {
      cwd: PROJECT_ROOT,
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let handedOver = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const url = /Please navigate to: (\S+)/.exec(stderr)?.[1];
      if (url && !handedOver) {
        handedOver = true;
        if (!onAuthorizationUrl) {
          child.kill('SIGKILL');
          reject(new Error(`the Inspector asked for a sign-in nobody expected: ${url}`));
          return;
        }
        onAuthorizationUrl(url).catch((error: unknown) => {
          child.kill('SIGKILL');
          reject(error instanceof Error ? error : new Error(String(error)));
        });
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `--format json` prints one object whose `result` is the tool's CallToolResult. */
function toolResult(run: Run): unknown {
  if (run.code !== 0)
    throw new Error(`the Inspector exited ${run.code}:\n${run.stderr.slice(-2000)}\n${run.stdout.slice(-1000)}`);
  return (JSON.parse(run.stdout) as { result?: unknown }).result;
}

// legacy: 2025-11-25 with initialize; modern: 2026-07-28, stateless with server/discover.
describe.each(['legacy', 'modern'])('MCP Inspector CLI, --protocol-era %s, a person in Chromium', (era) => {
  it('signs in when whoami needs it, then a second command reuses the sign-in', {
    timeout: 150_000,
  }, async () => {
    const home = await mkdtemp(join(tmpdir(), `inspector-cli-${era}-`));
    homes.push(home);
    const callbackUrl = `http://127.0.0.1:${await freePort()}/oauth/callback`;
    let authorizationUrl: URL | undefined;
    const whoami = await inspector(
      home,
      ['--protocol-era', era, '--method', 'tools/call', '--tool-name', 'whoami'],
      callbackUrl,
      async (url) => {
        authorizationUrl = new URL(url);
        await signInInBrowser(browser, url, { decision: 'Allow' });
      },
    );
    expect(toolResult(whoami)).toMatchObject({
      structuredContent: { subject: 'user_alice', organizationId: 'org_acme' },
    });
    expect(authorizationUrl?.origin).toBe(new URL(stack.auth.issuer).origin);
    expect(authorizationUrl?.searchParams.get('resource')).toBe(stack.resource);
    expect(authorizationUrl?.searchParams.get('redirect_uri')).toBe(callbackUrl);

    // No onAuthorizationUrl: a second sign-in would fail the test.
    const again = await inspector(
      home,
      ['--protocol-era', era, '--method', 'tools/call', '--tool-name', 'whoami'],
      callbackUrl,
    );
    expect(toolResult(again)).toMatchObject({
      structuredContent: { subject: 'user_alice', organizationId: 'org_acme' },
    });
  });
});
