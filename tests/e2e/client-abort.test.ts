import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_HEADERS, readRpc, rpc, startApp, type RunningApp } from '../helpers/app';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';

/**
 * A client that hangs up on the first POST /mcp, while next start is still loading the route, costs
 * nothing but that request: Next.js logs an `uncaughtException: Error: aborted` for it (its own body
 * handling, see the README's Tests section) and must go on serving.
 */
let issuer: TestIssuer;
let app: RunningApp;

beforeAll(async () => {
  issuer = await startTestIssuer();
  app = await startApp({ AUTHKIT_DOMAIN: issuer.issuer }); // ready on its metadata route; /mcp still cold
});
afterAll(async () => {
  await app?.stop();
  await issuer?.close();
});

describe('a client that gives up during the first /mcp request', () => {
  it('leaves the server answering the next call', async () => {
    const gaveUp = new AbortController();
    const first = fetch(`${app.url}/mcp`, {
      method: 'POST',
      headers: MCP_HEADERS,
      body: rpc('tools/call', { name: 'ping', arguments: {} }),
      signal: gaveUp.signal,
    });
    setTimeout(() => gaveUp.abort(), 20);
    await expect(first).rejects.toMatchObject({ name: 'AbortError' });

    const next = await fetch(`${app.url}/mcp`, {
      method: 'POST',
      headers: MCP_HEADERS,
      body: rpc('tools/call', { name: 'ping', arguments: {} }, 2),
    });
    expect(next.status).toBe(200);
    expect(await readRpc(next)).toMatchObject({ id: 2, result: {} });
  });
});
