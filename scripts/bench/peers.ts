import type { AuthInfo, CallToolResult } from '@modelcontextprotocol/server';
import { WorkOS } from '@workos-inc/node';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createMcpHandler, withMcpAuth } from 'mcp-handler';
import whoami from '@/tools/whoami';

/**
 * The patterns users would otherwise deploy, for `npm run bench` (issue 17), Edge-safe so the same
 * code runs in process and as a route of a bench-only Next build (variants.ts):
 *
 * - (p1) mcp-handler's own `withMcpAuth` with a `jose` `jwtVerify` on every request and no cache of
 *   verified tokens (the JWKS is cached by jose, as every such template does);
 * - (p2) (p1) plus a WorkOS `userManagement.getUser` on every request, through the real
 *   `@workos-inc/node` client (the WorkOS Vercel MCP template's pattern), here against the local
 *   directory API on 127.0.0.1, which holds each answer `--workos-delay-ms` (a round trip's worth).
 *
 * Both serve `whoami` with the same definition and result shape as tools/whoami.ts.
 */

export type PeerKind = 'p1' | 'p2';
export type PeerOptions = {
  issuer: string;
  resource: string;
  /** p2 only: the WorkOS API base URL (loopback) and key. */
  workosApiUrl?: string;
  workosApiKey?: string;
};

const SERVER_INFO = { name: 'edge-mcp-authkit', version: '0.1.0' };

function whoamiResult(authInfo: AuthInfo | undefined): CallToolResult {
  const extra = authInfo?.extra ?? {};
  const value = {
    subject: extra.sub ?? null,
    organizationId: extra.org_id ?? null,
    clientId: authInfo?.clientId ?? null,
    scopes: authInfo?.scopes ?? [],
    expiresAt: authInfo?.expiresAt ? new Date(authInfo.expiresAt * 1000).toISOString() : null,
  };
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value };
}

export function peerHandler(kind: PeerKind, options: PeerOptions): (request: Request) => Promise<Response> {
  const jwks = createRemoteJWKSet(new URL(`${options.issuer}/oauth2/jwks`));
  let workos: WorkOS | undefined;
  if (kind === 'p2') {
    if (!options.workosApiUrl || !options.workosApiKey) throw new Error('p2 needs the WorkOS API URL and key');
    const url = new URL(options.workosApiUrl);
    workos = new WorkOS({
      apiKey: options.workosApiKey,
      apiHostname: url.hostname,
      https: url.protocol === 'https:',
      ...(url.port ? { port: Number(url.port) } : {}),
    });
  }
  const handler = createMcpHandler(
    (server) => {
      server.registerTool(
        whoami.name,
        {
          title: whoami.title,
          description: whoami.description,
          inputSchema: whoami.input,
          annotations: whoami.annotations,
        },
        async (_args: Record<string, unknown>, ctx) => whoamiResult(ctx.http?.authInfo),
      );
    },
    { serverInfo: SERVER_INFO, capabilities: { tools: {} } },
  );
  const verifyToken = async (_request: Request, bearer?: string): Promise<AuthInfo | undefined> => {
    if (!bearer) return undefined;
    const { payload } = await jwtVerify(bearer, jwks, {
      issuer: options.issuer,
      audience: options.resource,
      algorithms: ['RS256'],
    });
    if (typeof payload.sub !== 'string') return undefined;
    // The template's per-request profile fetch: a round trip to WorkOS on every call.
    const user = workos ? await workos.userManagement.getUser(payload.sub) : undefined;
    return {
      token: bearer,
      clientId: typeof payload.client_id === 'string' ? payload.client_id : '',
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ') : [],
      ...(payload.exp ? { expiresAt: payload.exp } : {}),
      extra: { sub: user?.id ?? payload.sub, org_id: payload.org_id, email: user?.email },
    };
  };
  return withMcpAuth(handler, verifyToken, { required: true, resourceUrl: new URL(options.resource).origin });
}
