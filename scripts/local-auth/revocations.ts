// What the local authorization server offers for taking access back, the way WorkOS does:
//  - POST /oauth2/introspection (RFC 7662) for the MCP server's first-party client: oidc-provider
//    refuses to introspect JWT access tokens, so this answers them itself: the signature and
//    expiry checked with its own keys, and `active: false` once the token's consent is removed;
//  - POST /dev/revoke {"user": "alice", "consentOnly": false}: removes the user's consents (their
//    grants destroyed, their tokens inactive at introspection) and, unless `consentOnly`, sends the
//    MCP server a signed `organization_membership.deleted` per membership, as WorkOS would when an
//    admin removes them. Removing a consent alone sends nothing: WorkOS has no event for it.
// Development and tests only; loopback hosts only (server.ts checks Host first).

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type Provider from 'oidc-provider';
import { findUser, membershipsOf } from './directory';
import type { GrantContext } from './interactions';
import type { PrivateJwks } from './keys';
import { sendWorkosWebhook, workosEvent } from './webhook-sender';

export type RevocationOptions = {
  issuer: string;
  jwks: PrivateJwks;
  provider: Provider;
  grantContexts: Map<string, GrantContext>;
  /** The confidential client that may introspect (the MCP server's MCP_INTROSPECTION_CLIENT_*). */
  introspectionClient: { id: string; secret: string };
  /** Where WorkOS-shaped events go (the MCP server's /webhooks/workos) and the secret that signs them. */
  webhook?: { url: string; secret: string } | undefined;
  log: (line: string) => void;
};

const MAX_BODY = 16 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Client credentials from HTTP Basic (RFC 6749 §2.3.1: each part form-urlencoded). */
function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

export type Revocations = {
  /** Answers /oauth2/introspection and /dev/revoke; false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
  /** Consents removed so far (for tests and logs). */
  readonly revokedConsents: ReadonlySet<string>;
};

export function createRevocations(options: RevocationOptions): Revocations {
  const revokedConsents = new Set<string>();
  const publicKeys = createLocalJWKSet({
    keys: options.jwks.keys.map(({ kty, n, e, kid, alg, use }) => ({ kty, n, e, kid, alg, use })),
  });

  const introspect = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const client = basicCredentials(req.headers.authorization);
    const expected = options.introspectionClient;
    if (!client || client.id !== expected.id || !sameSecret(client.secret, expected.secret)) {
      res.setHeader('www-authenticate', 'Basic realm="introspection"');
      json(res, 401, { error: 'invalid_client', error_description: 'client authentication failed' });
      return;
    }
    const token = new URLSearchParams(await readBody(req)).get('token');
    if (!token) {
      json(res, 400, { error: 'invalid_request', error_description: 'token is required' });
      return;
    }
    try {
      const { payload } = await jwtVerify(token, publicKeys, { issuer: options.issuer, algorithms: ['RS256'] });
      const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
      if (!sid || revokedConsents.has(sid)) {
        json(res, 200, { active: false });
        return;
      }
      const { sub, client_id, scope, exp, iat, org_id, jti } = payload as Record<string, unknown>;
      json(res, 200, { active: true, token_type: 'Bearer', sub, client_id, scope, exp, iat, sid, org_id, jti });
    } catch {
      json(res, 200, { active: false }); // RFC 7662 §2.2: an invalid token is simply not active
    }
  };

  const revoke = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // A web page must not be able to revoke: JSON only (a cross-site form cannot send it without a
    // preflight, which is never answered here) and no foreign Origin.
    const origin = req.headers.origin;
    if (
      !/^application\/json\b/.test(req.headers['content-type'] ?? '') ||
      (origin && origin !== new URL(options.issuer).origin)
    ) {
      json(res, 403, { error: 'forbidden', error_description: 'send JSON from npm run revoke' });
      return;
    }
    let body: { user?: unknown; consentOnly?: unknown };
    try {
      body = JSON.parse(await readBody(req)) as typeof body;
    } catch {
      json(res, 400, { error: 'invalid_request', error_description: 'send {"user": "alice"}' });
      return;
    }
    const user = typeof body.user === 'string' ? findUser(body.user) : undefined;
    if (!user) {
      json(res, 404, { error: 'unknown_user' });
      return;
    }
    const consents: string[] = [];
    for (const [grantId, context] of options.grantContexts) {
      if (context.userId !== user.id) continue;
      revokedConsents.add(context.consentId);
      consents.push(context.consentId);
      const grant = await options.provider.Grant.find(grantId);
      await grant?.destroy(); // refresh tokens of the consent stop working too
      options.grantContexts.delete(grantId);
    }
    const events: Array<{ event: string; status: number }> = [];
    if (body.consentOnly !== true && options.webhook) {
      for (const membership of membershipsOf(user.id)) {
        const event = workosEvent('organization_membership.deleted', {
          object: 'organization_membership',
          id: membership.id,
          user_id: user.id,
          organization_id: membership.organizationId,
          status: 'inactive',
        });
        // next dev compiles the receiver on its first request: give it time.
        const delivered = await sendWorkosWebhook(options.webhook.url, options.webhook.secret, event, {
          timeoutMs: 60_000,
        }).catch(() => ({
          status: 0,
        }));
        events.push({ event: `${event.event} ${membership.organizationId}`, status: delivered.status });
      }
    }
    options.log(
      `revoked ${user.handle}: ${consents.length} consent(s) removed${events.length ? `, ${events.length} webhook(s) sent (${events.map((e) => e.status).join(', ')})` : ''}`,
    );
    json(res, 200, { user: user.id, consents, webhooks: events });
  };

  return {
    revokedConsents,
    async handle(req, res, path) {
      if (req.method !== 'POST') return false;
      if (path === '/oauth2/introspection') {
        await introspect(req, res);
        return true;
      }
      if (path === '/dev/revoke') {
        await revoke(req, res);
        return true;
      }
      return false;
    },
  };
}
