import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * A person at Debian's Chromium (playwright-core drives it; it never downloads a browser). The
 * helpers here only navigate and click: no forced headers, no hand-posted forms, no request
 * interception. Whatever the page and the browser do on their own is what is tested.
 */
export const CHROMIUM = '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 15_000;

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser tests`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    // The closed network refuses Chromium's background connections; these flags keep it quiet.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export type Person = {
  /** Seeded display name on the sign-in page's buttons, e.g. `Alice Anderson`. */
  name: string;
  /** Organization name on the same button, e.g. `Acme Corp`. */
  organization: string;
};

export const ALICE_AT_ACME: Person = { name: 'Alice Anderson', organization: 'Acme Corp' };

/**
 * Opens an authorization URL in a fresh page and does what a person does there (signInOnPage).
 * Resolves once the browser has left the authorization server (the client's redirect URI loaded).
 */
export async function signInInBrowser(
  browser: Browser,
  authorizationUrl: string | URL,
  options: { person?: Person; decision: 'Allow' | 'Deny' },
): Promise<void> {
  const page: Page = await browser.newPage();
  try {
    await page.goto(String(authorizationUrl), { timeout: STEP_TIMEOUT_MS });
    await signInOnPage(page, new URL(authorizationUrl).origin, options);
  } finally {
    await page.close();
  }
}

/**
 * On a page the client sent to the authorization server: pick the user and organization on the
 * sign-in page, then press Allow or Deny on the consent page, and wait until the browser has left
 * `issuerOrigin`.
 */
export async function signInOnPage(
  page: Page,
  issuerOrigin: string,
  options: { person?: Person; decision: 'Allow' | 'Deny' },
): Promise<void> {
  const person = options.person ?? ALICE_AT_ACME;
  await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: STEP_TIMEOUT_MS });
  await page
    .getByRole('button', { name: new RegExp(`${person.name}.*${person.organization}`) })
    .click({ timeout: STEP_TIMEOUT_MS });
  await page
    .getByRole('heading', { name: /^Authorize / })
    .waitFor({ timeout: STEP_TIMEOUT_MS })
    .catch(async () => {
      throw new Error(`no consent page after picking ${person.name}; the page said: ${await visibleText(page)}`);
    });
  await page.getByRole('button', { name: options.decision, exact: true }).click({ timeout: STEP_TIMEOUT_MS });
  await page
    .waitForURL((url) => url.origin !== issuerOrigin, { timeout: STEP_TIMEOUT_MS })
    .catch(async () => {
      throw new Error(
        `the browser stayed on the authorization server after ${options.decision}; the page said: ${await visibleText(page)}`,
      );
    });
}

async function visibleText(page: Page): Promise<string> {
  const text = await page
    .locator('body')
    // biome-ignore lint/performance/useDomNodeTextContent: failure messages show what the person sees, so rendered text
    .innerText({ timeout: 2_000 })
    .catch(() => '(unreadable)');
  return text.replace(/\s+/g, ' ').slice(0, 300);
}

/**
 * The loopback redirect URI a native MCP client listens on (RFC 8252 §7.3): it receives the
 * browser's redirect after sign-in and hands the query to whoever waits for it.
 */
export type LoopbackCallback = {
  url: string;
  /** The next redirect's query (code and state, or error); rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<URLSearchParams>;
  close(): Promise<void>;
};

export async function startLoopbackCallback(path = '/oauth/callback'): Promise<LoopbackCallback> {
  const arrived: URLSearchParams[] = [];
  let wake: (() => void) | undefined;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== path) {
      res.writeHead(404).end();
      return;
    }
    arrived.push(url.searchParams);
    wake?.();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Done</title><p>You can close this window.</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    next: async (timeoutMs = STEP_TIMEOUT_MS) => {
      const deadline = Date.now() + timeoutMs;
      while (arrived.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no redirect reached ${path} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.min(left, 250));
        });
      }
      return arrived.shift()!;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
