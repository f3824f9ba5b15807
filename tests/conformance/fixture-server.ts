import { request as httpRequest } from 'node:http';
import type { AuditRecord } from '@/lib/audit/record';
import { loadConfig, type Config } from '@/lib/config';
import { jsonRpcErrorResponse, methodNotAllowed, RPC_ERRORS } from '@/lib/http/answers';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { checkOrigin } from '@/lib/http/origin';
import { TEST_REQUEST_STATE_KEY } from '../helpers/app';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';
import { listen, serveFetchHandler, type Listening } from '../helpers/net';
import { conformanceRegistry } from './fixture-registry';

/**
 * What the conformance suite talks to.
 *
 * - `startFixtureServer`: our handler stack (createMcpEndpoint: authenticate, gate, audited
 *   dispatch through mcp-handler) with the conformance fixture tools, in-process on 127.0.0.1.
 *   The suite sends no Authorization header; with `signedIn` every request gets a valid bearer
 *   token added before it reaches the endpoint. GET and DELETE answer 405 as app/mcp/route.ts
 *   does, and a disallowed Origin 403 as middleware.ts does (lib/origin.ts, the same check).
 * - `startTokenProxy`: a loopback proxy in front of another server (the built app) that adds the
 *   same header and otherwise forwards requests and streams responses unchanged.
 */

export type FixtureServer = Listening & {
  mcpUrl: string;
  issuer: TestIssuer;
  /** Audit records written while the server ran (the sink is replaced while it is up). */
  audit: AuditRecord[];
};

/** A token for `resource` from the test issuer: a signed-in user with an organization. */
export async function signedInToken(issuer: TestIssuer, resource: string): Promise<string> {
  return issuer.sign(
    {
      aud: resource,
      sub: 'user_conformance',
      org_id: 'org_conformance',
      client_id: 'client_conformance',
      scope: 'openid profile',
    },
    { expiresIn: 15 * 60 },
  );
}

export async function startFixtureServer(options: { signedIn?: boolean } = {}): Promise<FixtureServer> {
  const signedIn = options.signedIn ?? true;
  const issuer = await startTestIssuer();
  const audit: AuditRecord[] = [];

  let config: Config | undefined;
  let bearer = '';
  const endpoint = createMcpEndpoint({
    registry: conformanceRegistry,
    config: () => {
      if (!config) throw new Error('fixture config used before the server listened');
      return config;
    },
    auditLine: (record) => audit.push(record),
  });
  const server = await serveFetchHandler(async (request) => {
    if (request.method !== 'POST') return methodNotAllowed('POST');
    if (config && checkOrigin(request.headers.get('origin'), config.allowedOrigins).kind === 'forbidden')
      return jsonRpcErrorResponse(403, { code: RPC_ERRORS.forbidden, message: 'Origin not allowed' });
    const headers = new Headers(request.headers);
    if (signedIn) headers.set('authorization', `Bearer ${bearer}`);
    return endpoint(new Request(request.url, { method: 'POST', headers, body: await request.arrayBuffer() }));
  });
  const mcpUrl = `${server.url}/mcp`;
  config = loadConfig({
    NODE_ENV: 'production',
    AUTHKIT_DOMAIN: issuer.issuer,
    MCP_RESOURCE_URL: mcpUrl,
    ALLOWED_ORIGINS: server.url,
    // The multi round-trip tools seal their requestState with it (production requires one).
    MCP_REQUEST_STATE_KEY: TEST_REQUEST_STATE_KEY,
  });
  bearer = await signedInToken(issuer, mcpUrl);

  return {
    ...server,
    mcpUrl,
    issuer,
    audit,
    close: async () => {
      await Promise.all([server.close(), issuer.close()]);
    },
  };
}

/** Forwards every request to `target` (an origin like http://127.0.0.1:3000) with Authorization added. */
export async function startTokenProxy(upstream: () => { target: string; token: string }): Promise<Listening> {
  // The upstream is read per request, so the proxy can bind (port 0) before the app it fronts exists.
  return listen((req, res) => {
    const { target, token } = upstream();
    const url = new URL(target);
    const headers = { ...req.headers, authorization: `Bearer ${token}` };
    const forward = httpRequest(
      { host: url.hostname, port: url.port, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
}
