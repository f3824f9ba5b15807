// `npm run dev`'s fourth process (its lines are prefixed [warm]): compiles
// /mcp as soon as next dev is up (a GET, then one public ping, which the audit
// trail shows), then says where to connect. next dev compiles on first use,
// and a client that gives up during that compile makes Next.js print an
// `uncaughtException: aborted` trace (its own body handling, not this
// project's; see docs/TESTS.md). Asking first keeps a healthy
// start quiet. Bounded: it gives up after WARMUP_LIMIT_MS and exits 0 either way.

import { devResourceUrl, loadDevEnv } from './dev-env';

const WARMUP_LIMIT_MS = 180_000;
const RETRY_MS = 500;

async function ping(url: string): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 'warm-up',
      method: 'tools/call',
      params: { name: 'ping', arguments: { message: 'npm run dev warm-up' } },
    }),
    signal: AbortSignal.timeout(WARMUP_LIMIT_MS),
  });
  await res.text();
  return res.status;
}

async function main(): Promise<void> {
  loadDevEnv();
  const resource = devResourceUrl();
  // next dev listens on 127.0.0.1 (package.json); GET /mcp is answered 405 by the route once it is compiled.
  const local = `http://127.0.0.1:${process.env.PORT ?? '3000'}/mcp`;
  const started = Date.now();
  for (let attempt = 0; Date.now() - started < WARMUP_LIMIT_MS && attempt < WARMUP_LIMIT_MS / RETRY_MS; attempt++) {
    try {
      const res = await fetch(local, { signal: AbortSignal.timeout(WARMUP_LIMIT_MS) });
      await res.body?.cancel();
      // The route answers GET itself; a public ping then loads what a POST needs (the SDK, the gate).
      if (res.status === 405 && (await ping(local)) === 200) {
        console.log(`/mcp compiled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        console.log(`connect an MCP client (e.g. npx @modelcontextprotocol/inspector) to ${resource}`);
        return;
      }
    } catch {
      // next dev is not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  console.log(
    `/mcp did not answer within ${WARMUP_LIMIT_MS / 1000} s; connect an MCP client to ${resource} once next dev is ready`,
  );
}

main().catch((error: unknown) => {
  console.log(`${error instanceof Error ? error.message : String(error)}`);
});
