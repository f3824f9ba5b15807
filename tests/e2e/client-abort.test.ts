import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { auditRecords, MCP_HEADERS, readRpc, rpc } from '../helpers/app';
import { useAppWithIssuer } from '../helpers/app-with-issuer';

/**
 * A client that hangs up on the first POST /mcp, while next start is still loading the route, costs
 * nothing but that request: Next.js logs an `uncaughtException: Error: aborted` for it (its own body
 * handling, see the README's Tests section) and must go on serving.
 */
const stack = useAppWithIssuer(); // ready on its metadata route; /mcp still cold

describe('a client that gives up during the first /mcp request', () => {
  it('leaves the server answering the next call', async () => {
    const gaveUp = new AbortController();
    const first = fetch(`${stack.app.url}/mcp`, {
      method: 'POST',
      headers: MCP_HEADERS,
      body: rpc('tools/call', { name: 'ping', arguments: {} }),
      signal: gaveUp.signal,
    });
    setTimeout(() => gaveUp.abort(), 20);
    await expect(first).rejects.toMatchObject({ name: 'AbortError' });

    const next = await fetch(`${stack.app.url}/mcp`, {
      method: 'POST',
      headers: MCP_HEADERS,
      body: rpc('tools/call', { name: 'ping', arguments: {} }, 2),
    });
    expect(next.status).toBe(200);
    expect(await readRpc(next)).toMatchObject({ id: 2, result: {} });
  });
});

/** Sends a JSON POST that declares 1,000 bytes, writes a few, and hangs up. */
function hangUpMidBody(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
          `accept: application/json, text/event-stream\r\ncontent-length: 1000\r\n\r\n{"jsonrpc":"2.0",`,
      );
      setTimeout(() => (socket.destroy(), resolve()), 200);
    });
    socket.on('error', () => resolve());
  });
}

// JSON POSTs skip the middleware, so the route reads a body still arriving: a hang-up must end that
// read (the request's abort signal), and leave its record, rather than leave the route waiting.
describe('a client that hangs up mid-body on a warm route', () => {
  it('leaves one client_aborted record per request and no uncaught exception', async () => {
    const before = auditRecords(stack.app.output()).length;
    // The cold-route test above may leave Next's own trace (see the top of this file); none may be added.
    const uncaught = () => stack.app.output().split('uncaughtException').length;
    const uncaughtBefore = uncaught();
    for (let i = 0; i < 3; i++) await hangUpMidBody(stack.app.port);
    let aborted: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 50 && aborted.length < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      aborted = auditRecords(stack.app.output())
        .slice(before)
        .filter((record) => record.reason === 'client_aborted');
    }
    expect(aborted).toHaveLength(3);
    for (const record of aborted) expect(record).toMatchObject({ type: 'request_rejected', status: 499 });
    expect(uncaught()).toBe(uncaughtBefore);
  });
});
