import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSnippets, SERVER_NAME } from '@/app/_landing/connect-snippets';
import { registry } from '@/tools';
import { auditRecords } from '../helpers/app';
import { launchChromium, signInInBrowser } from '../helpers/browser';
import { type McporterRun, runMcporter } from '../helpers/mcporter';
import { readmeBlocks } from '../helpers/readme';
import { startStack, type Stack } from '../helpers/stack';

/**
 * mcporter (a CLI nobody here wrote) as the README and the landing page tell you to run it: its two
 * lines, against next start and the local authorization server, a person signing in in Chromium on
 * the first call. Every run has its own HOME, so mcporter's config and tokens go to a temp dir.
 */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README_URL = 'http://localhost:3000/mcp';

/** A private tool from the registry, whatever tools a template owner keeps: signed-in, no arguments. */
const privateTool = registry.tools.find(
  (tool) => tool.access === 'signed-in' && !tool.ask && tool.input.safeParse({}).success,
);

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

/** The README's mcporter block, line by line; it is the landing page's snippet for the README's URL. */
function readmeLines(): string[] {
  const blocks = readmeBlocks('bash').filter((block) => block.includes('mcporter config add'));
  expect(blocks).toHaveLength(1);
  const block = blocks[0]!.trimEnd();
  expect(block).toBe(connectSnippets(README_URL).find((s) => s.id === 'mcporter')?.code);
  return block.split('\n');
}

/** A fresh HOME whose browser opener opens nothing: the person copies the URL mcporter prints. */
async function freshHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'mcporter-home-'));
  homes.push(home);
  await mkdir(join(home, 'bin'));
  await writeFile(join(home, 'bin', 'xdg-open'), '#!/bin/sh\nexit 0\n');
  await chmod(join(home, 'bin', 'xdg-open'), 0o755);
  return home;
}

/** One command line as a person types it in the project directory (`npx mcporter ...`). */
async function run(line: string[], home: string, person?: (url: string) => Promise<void>): Promise<McporterRun> {
  const env: Record<string, string> = {
    PATH: `${join(home, 'bin')}:${process.env.PATH ?? ''}`,
    HOME: home,
    npm_config_update_notifier: 'false',
    // Gives up on an unfinished sign-in well inside the run limit (the default is 5 minutes).
    MCPORTER_OAUTH_TIMEOUT_MS: '30000',
  };
  return runMcporter(line, env, person);
}

/** The README's line for this test's server: its URL, and the registry's private tool in the call. */
function forThisServer(line: string): string[] {
  return line
    .split(' ')
    .map((arg) => (arg === README_URL ? stack.resource : arg))
    .map((arg) => (arg.startsWith(`${SERVER_NAME}.`) ? `${SERVER_NAME}.${privateTool!.name}` : arg));
}

function allowedCalls(): Array<Record<string, unknown>> {
  return auditRecords(stack.app.output()).filter(
    (r) => r.type === 'tool_call' && r.tool === privateTool!.name && r.decision === 'allow',
  );
}

describe('mcporter, as the README and the landing page say, a person in Chromium', () => {
  it('config add with --auth oauth, then the first call signs in and a private tool answers; the next reuses the token', {
    timeout: 150_000,
  }, async () => {
    expect(privateTool, 'the registry has no signed-in tool without arguments').toBeDefined();
    const [add, call, ...rest] = readmeLines();
    expect(rest).toEqual([]);
    expect(add).toMatch(new RegExp(`^npx mcporter config add ${SERVER_NAME} ${README_URL} `));
    expect(call).toMatch(new RegExp(`^npx mcporter call ${SERVER_NAME}\\.\\w+$`));
    const home = await freshHome();

    const added = await run(forThisServer(add!), home);
    expect(added.code, added.stderr).toBe(0);
    const config = JSON.parse(await readFile(join(home, '.mcporter', 'mcporter.json'), 'utf8'));
    expect(config).toEqual({ mcpServers: { [SERVER_NAME]: { baseUrl: stack.resource, auth: 'oauth' } } });
    // Nothing in the project directory: --scope home keeps it out of ./config/mcporter.json.
    expect(existsSync(join(PROJECT_ROOT, 'config', 'mcporter.json'))).toBe(false);

    const first = await run(forThisServer(call!), home, (url) => signInInBrowser(browser, url, { decision: 'Allow' }));
    expect(first.authorizationUrl, first.stderr.slice(-1500)).toBeDefined();
    const authorization = new URL(first.authorizationUrl!);
    expect(authorization.origin).toBe(new URL(stack.auth.issuer).origin);
    expect(authorization.searchParams.get('resource')).toBe(stack.resource);
    expect(first.code, first.stderr.slice(-1500)).toBe(0);
    expect(allowedCalls()).toEqual([expect.objectContaining({ sub: 'user_alice', org_id: 'org_acme', outcome: 'ok' })]);
    expect(`${first.stdout}\n${first.stderr}`).not.toMatch(/access_token|refresh_token/);
    expect(existsSync(join(home, '.mcporter', 'credentials.json'))).toBe(true);

    // Tokens kept in HOME: the same line again calls without a sign-in.
    const second = await run(forThisServer(call!), home);
    expect(second.authorizationUrl).toBeUndefined();
    expect(second.code, second.stderr.slice(-1500)).toBe(0);
    expect(allowedCalls()).toHaveLength(2);
    expect(allowedCalls()[1]).toMatchObject({ sub: 'user_alice', outcome: 'ok' });
  });

  it('`mcporter auth` on the URL alone (what the README said before) exits 0 without signing in', {
    timeout: 60_000,
  }, async () => {
    const home = await freshHome();
    const auth = await run(['npx', 'mcporter', 'auth', '--allow-http', stack.resource], home);
    expect(auth.code, auth.stderr).toBe(0);
    expect(auth.authorizationUrl).toBeUndefined();
    expect(existsSync(join(home, '.mcporter', 'credentials.json'))).toBe(false);
  });
});
