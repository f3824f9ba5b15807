import type { Browser } from 'playwright-core';
import { signInInBrowser, type LoopbackCallback, type Person } from './browser';
import { MemoryOAuthProvider } from './oauth-client';

/**
 * What a desktop MCP client does: on "redirect to authorization" it opens the URL in the user's
 * browser and listens on a loopback redirect URI. Here the user is a person clicking in Chromium;
 * `decide` says what they press on the consent page for the next authorization.
 */
export class BrowserOAuthProvider extends MemoryOAuthProvider {
  decision: 'Allow' | 'Deny' = 'Allow';
  #person: Promise<void> | undefined;

  constructor(
    readonly browser: Browser,
    readonly callback: LoopbackCallback,
    readonly person?: Person,
  ) {
    super(callback.url, true, 'browser e2e MCP client');
  }

  protected async sendUserTo(url: URL) {
    // Like opening the system browser: the SDK does not wait for the person.
    this.#person = signInInBrowser(this.browser, url, {
      decision: this.decision,
      ...(this.person ? { person: this.person } : {}),
    });
    this.#person.catch(() => {}); // surfaced by redirected()
  }

  /**
   * Waits for the person to finish in the browser, then returns what reached the redirect URI.
   * Fails with what the page said if the person got stuck on the authorization server.
   */
  async redirected(): Promise<URLSearchParams> {
    if (!this.#person) throw new Error('the SDK never sent the user to the authorization server');
    const person = this.#person;
    this.#person = undefined;
    await person;
    return this.callback.next();
  }
}
