// oidc-provider's outbound fetch (Client ID Metadata Documents, a client's jwks_uri) when the
// local authorization server is told to trust a development CA (LOCAL_AUTH_CIMD_CA_FILE, or the
// `outboundCa` option tests pass). oidc-provider's default fetch trusts the system roots and
// refuses loopback and private addresses (SSRF protection), so a metadata document served by a
// test on https://127.0.0.1 could never be read. This one trusts ONLY the given CA: it reaches
// loopback, but only servers holding a certificate that CA signed; public CIMD clients stop
// resolving while it is set. The server refuses to start in production, so neither does this.

import { Agent, request } from 'node:https';
import { Readable } from 'node:stream';

export type OutboundFetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

// Statuses a fetch Response must carry without a body.
const NULL_BODY = new Set([204, 205, 304]);

export function fetchTrustingOnly(ca: string): OutboundFetch {
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error('local-auth: the outbound CA must be a PEM certificate');
  }
  // No pooling: each fetch is one short GET, and no socket outlives it.
  const agent = new Agent({ ca, keepAlive: false });
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(String(input));
      const method = (init.method ?? 'GET').toUpperCase();
      if (url.protocol !== 'https:') {
        reject(new TypeError(`local-auth: outbound fetches are https only, not ${url.protocol}`));
        return;
      }
      // oidc-provider only reads documents; nothing here needs to send a body.
      if ((method !== 'GET' && method !== 'HEAD') || init.body != null) {
        reject(new TypeError(`local-auth: outbound ${method} with a body is not supported`));
        return;
      }
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      const req = request(url, { method, headers, agent, signal: init.signal ?? undefined }, (res) => {
        const status = res.statusCode ?? 502;
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const one of [value ?? []].flat()) responseHeaders.append(name, one);
        }
        if (method === 'HEAD' || NULL_BODY.has(status)) {
          res.resume();
          resolve(new Response(null, { status, headers: responseHeaders }));
          return;
        }
        resolve(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, { status, headers: responseHeaders }));
      });
      req.on('error', reject);
      req.end();
    });
}
