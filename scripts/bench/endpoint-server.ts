import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getConfig } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/mcp';
import { registry } from '@/tools';
import { syncCacheVerifier } from './proposals';

/**
 * lib/mcp.ts's endpoint behind a plain node:http adapter on 127.0.0.1 (no Next, no middleware, no
 * Edge sandbox), configured from the environment like the app, auditing to stdout (/dev/null when
 * started by http-ablation.ts). BENCH_TOKEN_CACHE=sync swaps in the proposed synchronous-key
 * token cache (proposals.ts); anything else runs lib/ unchanged. Prints "listening <port>" on stderr.
 */
const endpoint = createMcpEndpoint({
  registry,
  ...(process.env.BENCH_TOKEN_CACHE === 'sync' ? { verifier: syncCacheVerifier() } : {}),
});
getConfig(); // fail now, not on the first request

const server = createServer(async (req, res) => {
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    const body = chunks.length && req.method !== 'GET' && req.method !== 'HEAD' ? Buffer.concat(chunks) : undefined;
    const response = await endpoint(new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers, body }));
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
process.stdin.on('end', stop).on('error', stop).resume();
setTimeout(() => process.exit(0), 3_600_000).unref();
