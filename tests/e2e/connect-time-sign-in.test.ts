import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, signInInBrowser } from '../helpers/browser';
import { type McporterRun, runMcporter } from '../helpers/mcporter';
import { startStack, type Stack } from '../helpers/stack';

/**
 * Clients that sign in only when they connect (mcporter's ad-hoc `call <url>.<tool>`, a client
 * nobody here wrote): against the default server they never start OAuth, because connecting and
 * listing are public; with MCP_AUTH_REQUIRED=true the first request is challenged, so they do.
 */

let open: Stack;
let required: Stack;
let browser: Browser;
const homes: string[] = [];

beforeAll(async () => {
  [open, required, browser] = await Promise.all([
    startStack(),
    startStack({ env: { MCP_AUTH_REQUIRED: 'true' } }),
    launchChromium(),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await Promise.all([open?.close(), required?.close()]);
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

/** `npx mcporter call --allow-http <url>.whoami` as a person runs it, with a private HOME. */
async function mcporterWhoami(stack: Stack, person?: (url: string) => Promise<void>): Promise<McporterRun> {
  const home = await mkdtemp(join(tmpdir(), 'mcporter-'));
  homes.push(home);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: home };
  return runMcporter(
    ['npx', 'mcporter', 'call', '--allow-http', '--oauth-timeout', '30000', `${stack.resource}.whoami`],
    env,
    person,
  );
}

describe('mcporter ad-hoc, a client that signs in only when it connects', () => {
  it('never starts OAuth against the default server, so a private tool stays out of reach', {
    timeout: 90_000,
  }, async () => {
    const run = await mcporterWhoami(open);
    expect(run.authorizationUrl).toBeUndefined();
    // It fails on the tool call's 401 and points at its own OAuth command instead.
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Authorization required for .*Run 'mcporter auth/);
    expect(`${run.stdout}\n${run.stderr}`).not.toContain('user_alice');
  });

  it('with MCP_AUTH_REQUIRED=true it signs in at connect (a person in Chromium) and whoami answers', {
    timeout: 90_000,
  }, async () => {
    const run = await mcporterWhoami(required, (url) => signInInBrowser(browser, url, { decision: 'Allow' }));
    expect(run.authorizationUrl && new URL(run.authorizationUrl).searchParams.get('resource')).toBe(required.resource);
    expect(run.code, run.stderr.slice(-1500)).toBe(0);
    expect(run.stdout).toContain('"subject": "user_alice"');
    expect(run.stdout).toContain('"organizationId": "org_acme"');
  });
});
