import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bareHandler } from './fixtures';

/**
 * Scenario (a) over HTTP: the bare mcp-handler (ping-equivalent tool, no auth) behind a small
 * node:http -> Request/Response adapter on 127.0.0.1, in its own process like next start.
 * NOT next start: no Next routing, middleware or Edge sandbox. Prints "listening <port>".
 */
const handler = bareHandler();
const server = createServer(async (req, res) => {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    const body = chunks.length && req.method !== 'GET' && req.method !== 'HEAD' ? Buffer.concat(chunks) : undefined;
    const response = await handler(new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers, body }));
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch {
    res.writeHead(500).end();
  }
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stderr.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The parent holds our stdin open: when it goes away (even killed), so do we.
process.stdin.on('end', stop).on('error', stop).resume();
// And never outlive the benchmark by more than an hour, whatever happens.
setTimeout(() => process.exit(0), 3_600_000).unref();
