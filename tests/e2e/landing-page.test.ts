import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { connectSnippets } from '@/app/_landing/connect-snippets';
import { inventoryRows, primitiveRows } from '@/lib/inventory';
import { registry } from '@/tools';
import { startApp, type RunningApp } from '../helpers/app';
import { launchChromium } from '../helpers/browser';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';

/**
 * The landing page of the built app (next start), rendered by Debian's chromium through
 * playwright-core: the URL to connect, the issuer, a copyable snippet per client and the access map,
 * row for row the inventory's; readable at phone width without scrolling the page or a table sideways;
 * an icon, so the browser's console shows no failed request.
 */
const SCREENSHOT = '/tmp/landing.png';
const SCREENSHOT_PHONE = '/tmp/landing-375.png';

let issuer: TestIssuer | undefined;
let app: RunningApp | undefined;
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await issuer?.close();
});

/** Started inside the test (not in beforeAll) so a missing browser is a failed test, never a skip. */
async function setUp(): Promise<{ app: RunningApp; browser: Browser }> {
  browser = await launchChromium(); // throws, naming the package, when Debian's chromium is missing
  issuer = await startTestIssuer();
  // Production shows the access map only on opt-in (tests/e2e/http-answers.test.ts checks it hidden without).
  app = await startApp({ AUTHKIT_DOMAIN: issuer.issuer, MCP_PUBLIC_ACCESS_MAP: 'true' });
  return { app, browser };
}

/** Each client's snippet as the page shows it, by client id. */
async function shownSnippets(page: Page): Promise<Record<string, string>> {
  const pairs = await page
    .locator('#connect [data-client]')
    .evaluateAll((blocks) =>
      blocks.map((block) => [
        block.getAttribute('data-client') ?? '',
        block.querySelector('pre code')?.textContent ?? '',
      ]),
    );
  return Object.fromEntries(pairs) as Record<string, string>;
}

describe('landing page', () => {
  it('shows the URL to connect and the access map of every tool, from the same rows as the inventory', {
    timeout: 90_000,
  }, async () => {
    const { app, browser } = await setUp();
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    try {
      const response = await page.goto(`${app.url}/`, { waitUntil: 'load', timeout: 20_000 });
      expect(response?.status()).toBe(200);

      expect(await page.locator('#mcp-url').textContent({ timeout: 5_000 })).toBe(`${app.url}/mcp`);
      expect(await page.locator('#issuer').textContent()).toBe(issuer!.issuer);
      // Not the local authorization server: its seeded users are not offered.
      expect(await page.locator('#seeded-users').count()).toBe(0);

      const shown = await page.locator('#access-map tr[data-tool]').evaluateAll((rows) =>
        rows.map((row) => ({
          tool: row.getAttribute('data-tool'),
          access: row.querySelector('[data-field="access"]')?.textContent ?? null,
        })),
      );
      const expected = inventoryRows(registry).map((row) => ({ tool: row.tool, access: row.access }));
      expect(shown).toEqual(expected);
      expect(shown).toHaveLength(registry.tools.length);

      // Resources and prompts, under the same policies, from the inventory's rows too.
      const primitives = await page.locator('#primitive-map tr[data-primitive]').evaluateAll((rows) =>
        rows.map((row) => ({
          primitive: row.getAttribute('data-primitive'),
          access: row.querySelector('[data-field="access"]')?.textContent ?? null,
        })),
      );
      expect(primitives).toEqual(
        primitiveRows(registry).map((row) => ({ primitive: `${row.kind}:${row.name}`, access: row.access })),
      );
      expect(primitives).toHaveLength(registry.resources.length + registry.prompts.length);

      // Nothing but the app itself is fetched: no external fonts, scripts or images.
      const origin = new URL(app.url).origin;
      expect(requests.filter((url) => new URL(url).origin !== origin)).toEqual([]);
      expect(pageErrors).toEqual([]);

      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('fits a 375 px wide screen and shows every client snippet for the configured MCP URL', {
    timeout: 60_000,
  }, async () => {
    if (!app || !browser) throw new Error('the first test did not start the app and the browser');
    const page = await browser.newPage({ viewport: { width: 375, height: 812 } });
    try {
      const response = await page.goto(`${app.url}/`, { waitUntil: 'load', timeout: 20_000 });
      expect(response?.status()).toBe(200);

      // Wide content (long snippets) scrolls inside its own box, never the page.
      const widths = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        inner: window.innerWidth,
      }));
      expect(widths.scroll, JSON.stringify(widths)).toBeLessThanOrEqual(widths.inner);
      // The tables fit: every cell is on screen, none hidden behind a sideways scroll of its table.
      const offScreen = await page.locator('table td').evaluateAll((cells) =>
        cells
          .map((cell) => ({ text: (cell.textContent ?? '').slice(0, 40), box: cell.getBoundingClientRect() }))
          .filter(({ box }) => box.left < 0 || box.right > window.innerWidth)
          .map(({ text, box }) => `${text} (${Math.round(box.left)}..${Math.round(box.right)})`),
      );
      expect(await page.locator('table td').count()).toBeGreaterThan(registry.tools.length);
      expect(offScreen).toEqual([]);

      const mcpUrl = `${app.url}/mcp`;
      const expected = Object.fromEntries(connectSnippets(mcpUrl).map((s) => [s.id, s.code]));
      expect(await shownSnippets(page)).toEqual(expected);
      for (const id of ['claude-desktop', 'claude-code', 'cursor', 'vscode'])
        expect(expected[id], id).toContain(mcpUrl);
      // The Claude Desktop block is the command line Claude Desktop would spawn.
      expect(JSON.parse(expected['claude-desktop']!)).toEqual({
        mcpServers: { 'edge-mcp': { command: 'npx', args: ['-y', 'mcp-remote', mcpUrl] } },
      });
      expect(await page.locator('[data-client="inspector"]').textContent()).toContain(mcpUrl);

      await page.screenshot({ path: SCREENSHOT_PHONE, fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('has an icon: the browser loads the one the page declares, /favicon.ico answers, nothing fails', {
    timeout: 60_000,
  }, async () => {
    if (!app || !browser) throw new Error('the first test did not start the app and the browser');
    const page = await browser.newPage({ viewport: { width: 375, height: 812 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()} ${message.location().url}`);
    });
    page.on('requestfailed', (request) => problems.push(`failed: ${request.url()}`));
    const loaded = new Map<string, { status: number; type: string }>();
    page.on('response', (response) => {
      loaded.set(response.url(), { status: response.status(), type: response.headers()['content-type'] ?? '' });
      if (response.status() >= 400) problems.push(`${response.status()}: ${response.url()}`);
    });
    try {
      await page.goto(`${app.url}/`, { waitUntil: 'load', timeout: 20_000 });
      const icons = await page
        .locator('link[rel~="icon"]')
        .evaluateAll((links) => links.map((link) => (link as HTMLLinkElement).href));
      expect(icons.length, 'no <link rel="icon"> in the page').toBeGreaterThan(0);
      // Chromium fetches the icon it picks after the load event.
      await expect
        .poll(() => icons.map((href) => loaded.get(href)).find(Boolean), { timeout: 10_000, interval: 100 })
        .toMatchObject({ status: 200, type: expect.stringMatching(/^image\//) });

      // Checked before leaving the page: navigating away aborts any icon request Chromium still has in flight
      // (a second fetch of the same icon), which is not a failure of the page (seen once in CI).
      expect(problems).toEqual([]);

      // What browsers and tools ask for without reading the page.
      const favicon = await page.goto(`${app.url}/favicon.ico`, { timeout: 10_000 });
      expect(favicon?.status()).toBe(200);
      expect(favicon?.headers()['content-type']).toMatch(/^image\//);
    } finally {
      await page.close();
    }
  });

  it('comes from a production build that carries no seeded development user', () => {
    // scripts/local-auth/directory.ts is imported only when NODE_ENV is not production; the build drops it.
    // What next start serves (.next/dev, from a next dev run, is not part of it).
    const files = ['server', 'static'].flatMap((dir) =>
      readdirSync(join('.next', dir), { recursive: true, encoding: 'utf8' })
        .filter((name) => /\.(js|html|rsc|json)$/.test(name))
        .map((name) => join('.next', dir, name)),
    );
    expect(files.length).toBeGreaterThan(10);
    const carrying = files.filter((file) => /alice@acme\.test|Globex Corporation/.test(readFileSync(file, 'utf8')));
    expect(carrying).toEqual([]);
  });
});
