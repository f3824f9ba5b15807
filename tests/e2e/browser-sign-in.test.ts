import {
  Client,
  OAuthError,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type ClientOptions,
} from '@modelcontextprotocol/client';
import { decodeJwt } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, startLoopbackCallback, type LoopbackCallback } from '../helpers/browser';
import { BrowserOAuthProvider } from '../helpers/browser-oauth-provider';
import { FIXTURE_SCOPES } from '../helpers/fixture-app';
import { type FixtureStack, startFixtureStack } from '../helpers/fixture-stack';

/**
 * A person signs in: the official v2 client against the framework serving a fixture app and the
 * local authorization server, and a person clicking in Debian's Chromium. Nothing here posts a form,
 * sets a header or intercepts a request; the browser does what browsers do with the pages.
 */
let stack: FixtureStack;
let browser: Browser;
let callback: LoopbackCallback;

beforeAll(async () => {
  [stack, browser, callback] = await Promise.all([startFixtureStack(), launchChromium(), startLoopbackCallback()]);
});
afterAll(async () => {
  await browser?.close();
  await callback?.close();
  await stack?.close();
});

type Wire = { name: string; versionNegotiation?: ClientOptions['versionNegotiation'] };
const WIRES: Wire[] = [
  { name: '2026-07-28 (pinned)', versionNegotiation: { mode: { pin: '2026-07-28' } } },
  { name: '2025-11-25 (legacy)', versionNegotiation: { mode: 'legacy' } },
];

async function connect(wire: Wire, provider: BrowserOAuthProvider) {
  const transport = new StreamableHTTPClientTransport(new URL(stack.resource), { authProvider: provider });
  const client = new Client(
    { name: 'browser-e2e', version: '1.0.0' },
    wire.versionNegotiation ? { versionNegotiation: wire.versionNegotiation } : {},
  );
  await client.connect(transport);
  return { client, transport };
}

const scopesOf = (token: string): string[] => String(decodeJwt(token).scope).split(' ');

describe.each(WIRES)('v2 client, $name wire, a person in Chromium', (wire) => {
  it('signs in on 401, steps up on 403, and each retried call succeeds', { timeout: 90_000 }, async () => {
    const provider = new BrowserOAuthProvider(browser, callback);
    const { client, transport } = await connect(wire, provider);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'me', 'docs_write', 'docs_read']));

      // 401 -> discovery -> registration -> the browser: pick Alice at Acme, Allow -> redirect URI.
      await expect(
        client.callTool({ name: 'docs_write', arguments: { title: `${wire.name} note` } }),
      ).rejects.toBeInstanceOf(UnauthorizedError);
      expect(provider.authorizations).toHaveLength(1);
      await transport.finishAuth(await provider.redirected());
      const first = provider.tokens()!.access_token;
      expect(decodeJwt(first)).toMatchObject({ aud: stack.resource, sub: 'user_alice', org_id: 'org_acme' });
      expect(scopesOf(first)).not.toContain(FIXTURE_SCOPES.read);

      const created = await client.callTool({ name: 'docs_write', arguments: { title: `${wire.name} note` } });
      expect(created).toMatchObject({ structuredContent: { organizationId: 'org_acme', title: `${wire.name} note` } });

      // 403 insufficient_scope -> the browser again, consenting to the wider scope.
      await expect(client.callTool({ name: 'docs_read', arguments: {} })).rejects.toBeInstanceOf(UnauthorizedError);
      expect(provider.authorizations).toHaveLength(2);
      expect(provider.authorizations[1]!.searchParams.get('scope')?.split(' ')).toEqual(
        expect.arrayContaining([FIXTURE_SCOPES.read, FIXTURE_SCOPES.write]),
      );
      await transport.finishAuth(await provider.redirected());
      expect(scopesOf(provider.tokens()!.access_token)).toEqual(
        expect.arrayContaining([FIXTURE_SCOPES.read, FIXTURE_SCOPES.write]),
      );

      const listed = (await client.callTool({ name: 'docs_read', arguments: {} })) as {
        structuredContent: { titles: string[] };
      };
      expect(listed.structuredContent.titles).toContain(`${wire.name} note`);
    } finally {
      await client.close();
    }
  });

  it('Deny sends access_denied back to the client, which fails cleanly and holds no token', {
    timeout: 60_000,
  }, async () => {
    const provider = new BrowserOAuthProvider(browser, callback);
    provider.decision = 'Deny';
    const { client, transport } = await connect(wire, provider);
    try {
      await expect(client.callTool({ name: 'me', arguments: {} })).rejects.toBeInstanceOf(UnauthorizedError);
      const params = await provider.redirected();
      expect(params.get('error')).toBe('access_denied');
      expect(params.has('code')).toBe(false);
      const refused = await transport.finishAuth(params).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(OAuthError);
      expect(String((refused as Error).message)).toMatch(/denied/i);
      expect(provider.tokens()).toBeUndefined();
      // No hang and no broken session: the client is still connected, anonymously.
      expect(await client.callTool({ name: 'echo', arguments: { message: 'hi' } })).toMatchObject({
        structuredContent: { echo: 'hi' },
      });
    } finally {
      await client.close();
    }
  });
});
