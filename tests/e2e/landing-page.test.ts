import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { inventoryRows } from '@/lib/inventory';
import { registry } from '@/tools';
import { startApp, type RunningApp } from '../helpers/app';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';

/**
 * The landing page of the built app (next start), rendered by Debian's chromium through
 * playwright-core: the URL to connect and the access map, row for row the inventory's.
 */
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = '/tmp/landing.png';

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
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the landing-page test`);
  }
  issuer = await startTestIssuer();
  app = await startApp({ AUTHKIT_DOMAIN: issuer.issuer });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return { app, browser };
}

describe('landing page', () => {
  it('shows the URL to connect and the access map of every tool, from the same rows as the inventory', { timeout: 90_000 }, async () => {
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

      const shown = await page.locator('#access-map tr[data-tool]').evaluateAll((rows) =>
        rows.map((row) => ({
          tool: row.getAttribute('data-tool'),
          access: row.querySelector('[data-field="access"]')?.textContent ?? null,
        })),
      );
      const expected = inventoryRows(registry).map((row) => ({ tool: row.tool, access: row.access }));
      expect(shown).toEqual(expected);
      expect(shown).toHaveLength(registry.tools.length);

      // Nothing but the app itself is fetched: no external fonts, scripts or images.
      const origin = new URL(app.url).origin;
      expect(requests.filter((url) => new URL(url).origin !== origin)).toEqual([]);
      expect(pageErrors).toEqual([]);

      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    } finally {
      await page.close();
    }
  });
});
