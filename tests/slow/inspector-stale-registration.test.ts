import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLOCK_TOLERANCE_SECONDS } from '@/lib/config';
import { launchChromium, signInInBrowser } from '../helpers/browser';
import { freePort } from '../helpers/net';
import { startStack, type Stack } from '../helpers/stack';

/**
 * The MCP Inspector CLI comes back after the local authorization server restarted without its
 * registrations (.local-auth/clients.json deleted) and after its access token ran out: its refresh
 * is refused with `invalid_client`, it registers again, and the person signs in once. It waits for
 * the token to expire past the MCP server's clock tolerance (about 40 s), so it runs with the soak
 * (`npm run test:soak`, in CI) rather than in `npm test`; tests/e2e/stale-registration.test.ts has
 * the mcp-remote case.
 */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Access tokens live this long here, so a client's token runs out within the test (plus the MCP server's clock tolerance). */
const TOKEN_TTL_S = 5;
const RUN_LIMIT_MS = 60_000;

let stack: Stack;
let browser: Browser;
let authDir: string;
const authLog: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  authDir = await mkdtemp(join(tmpdir(), 'stale-registration-inspector-'));
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

type Run = { code: number | null; stdout: string; stderr: string };

/**
 * `npx mcp-inspector --cli <url> …` as a person runs it (tests/e2e/inspector-cli.test.ts explains
 * the environment): `onAuthorizationUrl` gets the URL it prints and does what the person does.
 */
function inspector(home: string, callbackUrl: string, onAuthorizationUrl: (url: URL) => Promise<void>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      MCP_AUTO_OPEN_ENABLED: 'true',
      MCP_INSPECTOR_SECRET_STORE: 'file',
      MCP_OAUTH_CALLBACK_URL: callbackUrl,
    };
    const args = ['mcp-inspector', '--cli', stack.resource, '--format', 'json', '--method', 'tools/call'];
    const child = spawn('npx', [...args, '--tool-name', 'whoami'], {
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
        onAuthorizationUrl(new URL(url)).catch((error: unknown) => {
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

function toolResult(run: Run): unknown {
  if (run.code !== 0) {
    throw new Error(`the Inspector exited ${run.code}:\n${run.stderr.slice(-2000)}\n${run.stdout.slice(-1000)}`);
  }
  return (JSON.parse(run.stdout) as { result?: unknown }).result;
}

describe('the MCP Inspector CLI with a saved registration the authorization server no longer knows', () => {
  it('registers again when its refresh is refused with invalid_client, and the person signs in once', {
    timeout: 180_000,
  }, async () => {
    const home = await mkdtemp(join(tmpdir(), 'inspector-stale-'));
    cleanups.push(() => rm(home, { recursive: true, force: true }));
    const callbackUrl = `http://127.0.0.1:${await freePort()}/oauth/callback`;

    const urls: URL[] = [];
    const signIn = async (url: URL): Promise<void> => {
      urls.push(url);
      await signInInBrowser(browser, url, { decision: 'Allow' });
    };
    expect(toolResult(await inspector(home, callbackUrl, signIn))).toMatchObject({
      structuredContent: { subject: 'user_alice' },
    });
    const signedInAt = Date.now();
    const savedClientId = urls[0]?.searchParams.get('client_id');
    expect(savedClientId).toBeTruthy();

    await stack.restartAuth(() => rm(join(authDir, 'clients.json'), { force: true }));
    // Its access token runs out; its refresh token died with the old server, and so did its client.
    const expired = signedInAt + (TOKEN_TTL_S + CLOCK_TOLERANCE_SECONDS + 2) * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expired - Date.now())));

    const started = Date.now();
    expect(toolResult(await inspector(home, callbackUrl, signIn))).toMatchObject({
      structuredContent: { subject: 'user_alice' },
    });
    expect(urls).toHaveLength(2);
    expect(urls[1]?.searchParams.get('client_id')).not.toBe(savedClientId);
    expect(Date.now() - started).toBeLessThan(RUN_LIMIT_MS);
    expect(authLog.join('\n')).toContain(`registered client ${urls[1]?.searchParams.get('client_id')}`);
  });
});
