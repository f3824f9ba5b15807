import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bindLoopback, fetchBridge, PortInUseError, type Listening } from '../../scripts/loopback';

/**
 * A free loopback port, found by binding port 0 and releasing it. Another process can take it before
 * the caller binds it: start servers through `retryOnPortInUse` (startApp and startStack do).
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `count` distinct free loopback ports (held together while chosen, so none repeats). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

/** How many fresh ports a start gets before a PortInUseError is the test's failure. */
export const PORT_ATTEMPTS = 5;

/**
 * Runs `start` again, up to `attempts` times in all, while it throws PortInUseError; `start` takes
 * fresh ports from freePort() on each call. Any other error is thrown at once.
 */
export async function retryOnPortInUse<T>(start: () => Promise<T>, attempts = PORT_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt >= attempts) throw error;
    }
  }
}

export type { Listening } from '../../scripts/loopback';
export { PortInUseError } from '../../scripts/loopback';

export function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, port = 0): Promise<Listening> {
  return bindLoopback(createServer(handler), 'http', port);
}

/** Serves a web-standard handler over real HTTP on 127.0.0.1 (for in-process endpoint tests). */
export function serveFetchHandler(handler: (request: Request) => Promise<Response>): Promise<Listening> {
  return listen(fetchBridge(handler));
}
