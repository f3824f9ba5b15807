import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * Loopback plumbing shared by the bench and the tests (neither imports the other): bind a node
 * server on 127.0.0.1, and bridge node:http to a web-standard handler the way a platform does.
 */

export type Listening = { url: string; port: number; close(): Promise<void> };

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

/** Binds `server` on 127.0.0.1 (`port` 0: a free one); a taken port rejects with PortInUseError. */
export async function bindLoopback(
  server: HttpServer | HttpsServer,
  scheme: 'http' | 'https',
  port = 0,
): Promise<Listening> {
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
    url: `${scheme}://127.0.0.1:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** node:http -> Request -> handler -> Response, with the whole body buffered like a platform does. */
export function fetchBridge(
  handler: (request: Request) => Promise<Response>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers = new Headers();
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
      const body = chunks.length && req.method !== 'GET' && req.method !== 'HEAD' ? Buffer.concat(chunks) : undefined;
      const response = await handler(
        new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers, body }),
      );
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch {
      // A handler that throws is a bug to be seen as a 500, not an unhandled rejection.
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  };
}
