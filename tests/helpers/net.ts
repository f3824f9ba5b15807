import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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

/** A server could not bind its port because something else holds it (EADDRINUSE). */
export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    detail = '',
  ) {
    super(`port ${port} is already in use${detail ? `:\n${detail}` : ''}`);
    this.name = 'PortInUseError';
  }
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

export type Listening = { url: string; port: number; close(): Promise<void> };

export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  port = 0,
): Promise<Listening> {
  const server: Server = createServer(handler);
  // A taken port rejects (PortInUseError) instead of leaving the caller waiting forever.
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(port) : error);
    server.once('error', failed);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', failed);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serves a web-standard handler over real HTTP on 127.0.0.1 (for in-process endpoint tests). */
export async function serveFetchHandler(handler: (request: Request) => Promise<Response>): Promise<Listening> {
  return listen(async (req, res) => {
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = new Headers();
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
      const body = chunks.length && req.method !== 'GET' && req.method !== 'HEAD' ? Buffer.concat(chunks) : undefined;
      const response = await handler(
        new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers, body }),
      );
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch {
      // A handler that throws is a bug the test should see as a 500, not an unhandled rejection.
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });
}
