// `npm run dev`'s fourth process (its lines are prefixed [warm]): compiles
// /mcp as soon as next dev is up (a GET, then one public ping, which the audit
// trail shows), then says where to connect. next dev compiles on first use,
// and a client that gives up during that compile makes Next.js print an
// `uncaughtException: aborted` trace (its own body handling, not this
// project's; see docs/TESTS.md). Asking first keeps a healthy
// start quiet. It also loads the protected resource metadata, which clients
// read first and the local authorization server asks for the scopes to offer.
// Bounded: it gives up after WARMUP_LIMIT_MS and exits 0 either way.

import { devResourceUrl, loadDevEnv } from './dev-env';
import { protectedResourceMetadataUrl } from './local-auth/resource-scopes';

const WARMUP_LIMIT_MS = 180_000;
const RETRY_MS = 500;

/**
 * The 401 of a route that is compiled and answering but wants a token first (MCP_AUTH_REQUIRED=true):
 * an RFC 9728 challenge naming the resource metadata, which is what a client needs to sign in.
 */
function isSignInChallenge(status: number, wwwAuthenticate: string | null): boolean {
  if (status !== 401 || !wwwAuthenticate) return false;
  const metadata = /^Bearer\s(?:.*[\s,])?resource_metadata="([^"]+)"/i.exec(wwwAuthenticate)?.[1];
  return metadata !== undefined && URL.canParse(metadata);
}

type Answer = 'ready' | 'sign-in required' | 'not yet';

async function ping(url: string, limitMs: number): Promise<Answer> {
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
    signal: AbortSignal.timeout(limitMs),
  });
  await res.text();
  if (res.status === 200) return 'ready';
  return isSignInChallenge(res.status, res.headers.get('www-authenticate')) ? 'sign-in required' : 'not yet';
}

async function main(): Promise<void> {
  loadDevEnv();
  const resource = devResourceUrl();
  const limitMs = WARMUP_LIMIT_MS;
  // next dev listens on 127.0.0.1 (package.json); GET /mcp is answered 405 by the route once it is compiled.
  const local = `http://127.0.0.1:${process.env.PORT ?? '3000'}/mcp`;
  const started = Date.now();
  const left = (): number => Math.max(1, limitMs - (Date.now() - started));
  for (let attempt = 0; Date.now() - started < limitMs && attempt < limitMs / RETRY_MS; attempt++) {
    try {
      const res = await fetch(local, { signal: AbortSignal.timeout(left()) });
      await res.body?.cancel();
      // The route answers GET itself; a public ping then loads what a POST needs (the SDK, the gate).
      // With MCP_AUTH_REQUIRED=true the ping is answered with the sign-in challenge instead: the
      // route is compiled and answering, which is all this waits for.
      const answer = res.status === 405 ? await ping(local, left()) : 'not yet';
      if (answer !== 'not yet') {
        await loadMetadata(new URL(new URL(protectedResourceMetadataUrl(resource)).pathname, local).href, left());
        const note = answer === 'sign-in required' ? ' (every request needs a token: MCP_AUTH_REQUIRED=true)' : '';
        console.log(`/mcp compiled in ${((Date.now() - started) / 1000).toFixed(1)} s${note}`);
        console.log(`connect an MCP client (e.g. npx @modelcontextprotocol/inspector) to ${resource}`);
        return;
      }
    } catch {
      // next dev is not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  console.log(
    `/mcp did not answer within ${limitMs / 1000} s; connect an MCP client to ${resource} once next dev is ready`,
  );
}

/** Compiles the metadata route; a failure here only means its first reader waits for the compile. */
async function loadMetadata(url: string, limitMs: number): Promise<void> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(Math.min(limitMs, 60_000)) });
    await res.body?.cancel();
  } catch {
    // not fatal
  }
}

main().catch((error: unknown) => {
  console.log(`${error instanceof Error ? error.message : String(error)}`);
});
