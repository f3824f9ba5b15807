import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, signInOnPage } from '../helpers/browser';
import { freePorts, PortInUseError, retryOnPortInUse } from '../helpers/net';
import { startStack, type Stack } from '../helpers/stack';

/**
 * The README's MCP Inspector steps, as a person follows them: `npx @modelcontextprotocol/inspector`,
 * open the URL it prints, Add Servers → + Add manually → Server ID, Transport streamable-http, URL,
 * Add, switch it on, Tools → whoami → Execute Tool; sign in in that tab; Execute Tool again. The
 * Inspector (2.12, pinned) is code nobody here wrote; its ports are free ones instead of 6274-6278.
 */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STEP_MS = 20_000;

let stack: Stack;
let browser: Browser;
let inspector: { url: string; child: ChildProcess; home: string } | undefined;

async function startInspector(): Promise<{ url: string; child: ChildProcess; home: string }> {
  const [client, sandbox, appOrigin] = (await freePorts(3)) as [number, number, number];
  const home = await mkdtemp(join(tmpdir(), 'inspector-web-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    CLIENT_PORT: String(client),
    MCP_SANDBOX_PORT: String(sandbox),
    MCP_APP_ORIGIN_PORT: String(appOrigin),
    MCP_AUTO_OPEN_ENABLED: 'false', // the person opens the printed URL
  };
  const child = spawn('npx', ['@modelcontextprotocol/inspector'], {
    cwd: PROJECT_ROOT,
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 60_000;
  for (let i = 0; i < 600 && Date.now() < deadline; i++) {
    const url = /(http:\/\/127\.0\.0\.1:\d+\/?\?MCP_INSPECTOR_API_TOKEN=[0-9a-f]+)/.exec(output)?.[1];
    if (url) return { url, child, home };
    if (child.exitCode !== null) {
      await rm(home, { recursive: true, force: true });
      if (/EADDRINUSE/.test(output)) throw new PortInUseError(client, output);
      throw new Error(`the Inspector exited (${child.exitCode}):\n${output.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (child.pid) process.kill(-child.pid, 'SIGKILL');
  throw new Error(`the Inspector printed no URL within 60 s:\n${output.slice(-2000)}`);
}

beforeAll(async () => {
  [stack, browser, inspector] = await Promise.all([
    startStack(),
    launchChromium(),
    retryOnPortInUse(startInspector, 3),
  ]);
});
afterAll(async () => {
  await browser?.close();
  if (inspector?.child.pid && inspector.child.exitCode === null) process.kill(-inspector.child.pid, 'SIGTERM');
  await stack?.close();
  if (inspector) await rm(inspector.home, { recursive: true, force: true });
});

async function executeWhoami(page: Page): Promise<void> {
  await page.getByText('whoami', { exact: true }).first().click({ timeout: STEP_MS });
  await page
    .getByRole('button', { name: /^Execute Tool/ })
    .first()
    .click({ timeout: STEP_MS });
}

describe('MCP Inspector web UI, following the README, a person in Chromium', () => {
  it('adds the server by hand, connects, signs in on whoami and shows who is signed in', {
    timeout: 120_000,
  }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await page.goto(inspector!.url, { timeout: STEP_MS });
      await page.getByRole('button', { name: 'Add Servers' }).click({ timeout: STEP_MS });
      await page.getByRole('menuitem', { name: /Add manually/ }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByRole('textbox', { name: /Server ID/ }).fill('edge-mcp');
      // The transport list sometimes stays closed on the first click while the dialog settles (seen once
      // in CI); a person clicks again. At most three tries, five seconds each.
      const option = page.getByRole('option', { name: 'streamable-http' });
      for (let attempt = 1; attempt <= 3; attempt++) {
        await dialog.getByRole('textbox', { name: /Transport/ }).click();
        const opened = await option.waitFor({ state: 'visible', timeout: 5_000 }).then(
          () => true,
          () => attempt === 3 && Promise.reject(new Error('the Transport list never opened')),
        );
        if (opened) break;
      }
      await option.click();
      await dialog.getByRole('textbox', { name: /URL/ }).fill(stack.resource);
      await dialog.getByRole('button', { name: 'Add', exact: true }).click();
      await dialog.waitFor({ state: 'hidden', timeout: STEP_MS });

      // Switch the new server on.
      const card = page
        .locator('[class*=Card]')
        .filter({ hasText: 'edge-mcp' })
        .filter({ hasText: stack.resource })
        .first();
      await card.getByRole('switch').click({ force: true });
      await card.getByText('Connected', { exact: true }).waitFor({ timeout: STEP_MS });

      // Tools → whoami → Execute Tool: the tab goes to the sign-in page.
      await page.getByText('Tools', { exact: true }).first().click();
      await executeWhoami(page);
      await page.waitForURL((url) => url.origin === new URL(stack.auth.issuer).origin, { timeout: STEP_MS });
      await signInOnPage(page, new URL(stack.auth.issuer).origin, { decision: 'Allow' });
      await page.getByText('Authentication succeeded').waitFor({ timeout: STEP_MS });

      // "Retry your action": Execute Tool again.
      await executeWhoami(page);
      await page.getByText('"user_alice"').first().waitFor({ timeout: STEP_MS });
      expect(await page.getByText('"org_acme"').count()).toBeGreaterThan(0);
    } finally {
      await page.close();
    }
  });
});
