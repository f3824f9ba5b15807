// A local authorization server shaped like WorkOS AuthKit, so the MCP server
// can be exercised end to end without a WorkOS account. oidc-provider does the
// OAuth work; this file only configures it the way AuthKit behaves for MCP:
// endpoints under /oauth2/, open Dynamic Client Registration, PKCE S256,
// RFC 8707 resource indicators with RS256 JWT access tokens whose `aud` is the
// MCP resource and which carry `org_id` and `sid` like AuthKit's; and the client_credentials grant
// for seeded machine clients, whose tokens are shaped like WorkOS M2M tokens (machines.ts).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import Provider, {
  errors,
  interactionPolicy,
  type Configuration,
  type InteractionPolicy,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import { DEV_ENVIRONMENT_CLIENT_ID } from '../../lib/config';
import { createAdapterFactory } from './adapter';
import { findUserById } from './directory';
import { escapeControlChars, isOwnHost, ownAuthorities } from './hosts';
import { createInteractionHandler, type GrantContext } from './interactions';
import type { MachineClient } from './machines';
import { DEFAULT_KEY_FILE, loadOrCreateSigningKeys } from './keys';
import { fetchTrustingOnly } from './outbound-fetch';
import { errorPage, unknownClientPage } from './pages';
import { createRevocations, type Revocations } from './revocations';
import { createWorkosApiHandler, type WorkosApiHandler } from './workos-api';
import { DEV_INTROSPECTION_CLIENT_ID, DEV_INTROSPECTION_CLIENT_SECRET } from '../../lib/revocation/config';
import { OIDC_SCOPES } from './oidc-scopes';

/**
 * The resource scopes offered: a fixed list, or a function asked at every authorization, token
 * request and metadata request, so what is offered can follow the MCP server's tools while this
 * server runs (main.ts reads the MCP server's protected resource metadata).
 */
export type ScopeSource = readonly string[] | (() => readonly string[] | Promise<readonly string[]>);

export interface LocalAuthServerOptions {
  /** TCP port; 0 picks a free one. Default 0. */
  port?: number | undefined;
  /** Interface to bind. Default 127.0.0.1 (the issuer still says localhost). */
  host?: string | undefined;
  /** Issuer identifier. Default `http://localhost:${port}`. */
  issuer?: string | undefined;
  /** Resource indicators (RFC 8707) tokens may be issued for; the first is the default. */
  resources: string[];
  /** Scopes offered for those resources (what the MCP server advertises). */
  scopes: ScopeSource;
  /** Private JWKS file; created on first run. Default `.local-auth/keys.json`. */
  keyFile?: string | undefined;
  /**
   * File keeping client registrations across restarts (created mode 0600). Default: none, so
   * registrations live as long as this server, and two servers never share them.
   */
  clientsFile?: string | undefined;
  /** Access token lifetime. Default 3600. */
  accessTokenTtlSeconds?: number | undefined;
  /** Receives one-line operational messages. Never given tokens or secrets. */
  log?: ((line: string) => void) | undefined;
  /** Serves the directory under /user_management/ and /authorization/ (WorkOS API shapes). Default: the seeded directory. */
  workosApi?: WorkosApiHandler | undefined;
  /**
   * PEM certificate: fetch client metadata documents trusting only this CA, loopback included
   * (outbound-fetch.ts). Default: oidc-provider's fetch (system roots, no loopback or private addresses).
   */
  outboundCa?: string | undefined;
  /** Machine clients allowed the client_credentials grant (client_secret_basic). Default: none. */
  machineClients?: readonly MachineClient[] | undefined;
  /** The `aud` of machine tokens, as WorkOS puts its environment client id there. Default DEV_ENVIRONMENT_CLIENT_ID. */
  environmentClientId?: string | undefined;
  /** The client that may introspect tokens (the MCP server's). Default: the development pair lib/revocation/config.ts names. */
  introspectionClient?: { id: string; secret: string } | undefined;
  /** Where `/dev/revoke` sends WorkOS-shaped signed events (the MCP server's /webhooks/workos). Default: none sent. */
  webhook?: { url: string; secret: string } | undefined;
}

export interface LocalAuthServer {
  issuer: string;
  port: number;
  /** Introspection and `/dev/revoke` (scripts/local-auth/revocations.ts). */
  revocations: Revocations;
  close(): Promise<void>;
}

const DAY = 24 * 60 * 60;

// AuthKit serves everything under /oauth2/; keep every oidc-provider route there.
const ROUTES = {
  authorization: '/oauth2/authorize',
  token: '/oauth2/token',
  registration: '/oauth2/register',
  jwks: '/oauth2/jwks',
  userinfo: '/oauth2/userinfo',
  introspection: '/oauth2/introspection',
  revocation: '/oauth2/revoke',
  end_session: '/oauth2/logout',
  pushed_authorization_request: '/oauth2/par',
  device_authorization: '/oauth2/device/authorize',
  code_verification: '/oauth2/device',
  backchannel_authentication: '/oauth2/backchannel',
  challenge: '/oauth2/challenge',
  credential: '/oauth2/credential',
} as const;

function normalizeUrl(value: string): string | undefined {
  return URL.parse(value)?.href;
}

function scopeProblem(scope: string): string | undefined {
  if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope))
    return `scope ${JSON.stringify(scope)} is not a valid OAuth scope token`;
  if (OIDC_SCOPES.includes(scope))
    return `${scope} is an OIDC scope and is always available; list only resource scopes`;
  return undefined;
}

function checkOptions(opts: LocalAuthServerOptions): void {
  if (!Array.isArray(opts.resources) || opts.resources.length === 0) {
    throw new Error('local-auth: `resources` must list at least one resource URL');
  }
  for (const resource of opts.resources) {
    const url = URL.parse(resource);
    if (!url || url.hash || !/^https?:$/.test(url.protocol)) {
      throw new Error(
        `local-auth: resource ${JSON.stringify(resource)} must be an absolute http(s) URL without a fragment`,
      );
    }
  }
  if (typeof opts.scopes === 'function') return;
  if (!Array.isArray(opts.scopes)) throw new Error('local-auth: `scopes` must be a list of scopes or a function');
  for (const scope of opts.scopes) {
    const problem = scopeProblem(scope);
    if (problem) throw new Error(`local-auth: ${problem}`);
  }
}

/**
 * What is offered right now. A fixed list is checked once by checkOptions; a function's answers are
 * checked on each call: an invalid scope is left out (logged once), and a function that fails
 * leaves the previous answer in place, so a bad moment never stops a sign-in.
 */
function scopeReader(source: ScopeSource, log: (line: string) => void): () => Promise<readonly string[]> {
  if (typeof source !== 'function') {
    const fixed = Object.freeze([...source]);
    return async () => fixed;
  }
  let last: readonly string[] = [];
  const reported = new Set<string>();
  return async () => {
    let answer: readonly string[];
    try {
      answer = await source();
    } catch (error) {
      log(
        `scopes: ${error instanceof Error ? error.message : String(error)}; still offering: ${last.join(' ') || '(none)'}`,
      );
      return last;
    }
    const offered: string[] = [];
    for (const scope of new Set(Array.isArray(answer) ? answer : [])) {
      const problem = typeof scope === 'string' ? scopeProblem(scope) : 'a scope is not a string';
      if (problem === undefined) offered.push(scope);
      else if (!reported.has(problem)) {
        reported.add(problem);
        log(`not offered: ${problem}`);
      }
    }
    last = Object.freeze(offered);
    return last;
  };
}

/** RFC 8252 §7.3 loopback redirect URIs: the person's own machine. */
function isLoopbackRedirect(value: string | null): value is string {
  const url = value === null ? null : URL.parse(value);
  if (url?.protocol !== 'http:' || url.username || url.password || url.hash) return false;
  return ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
}

const UNKNOWN_CLIENT_DESCRIPTION =
  'this client_id is not registered with this authorization server (its registrations were reset or this one was removed); register the client again';

/**
 * The registration an authorization request implies when its client_id is unknown here, or
 * undefined when it implies none. Only the shape every MCP client registers as (RFC 8252 native
 * app): a public client (no secret; PKCE S256 is required anyway) using the authorization code flow
 * with a loopback redirect URI, so restoring it hands nobody anything open registration does not.
 */
function impliedRegistration(query: URLSearchParams): Record<string, unknown> | undefined {
  const clientId = query.get('client_id');
  const redirectUri = query.get('redirect_uri');
  if (!clientId || clientId.length > 200 || !/^[\x21-\x7E]+$/.test(clientId) || clientId.startsWith('https:')) {
    return undefined; // a metadata document URL is fetched, never registered
  }
  if (query.get('response_type') !== 'code' || query.get('code_challenge_method') !== 'S256') return undefined;
  if (!query.get('code_challenge') || !isLoopbackRedirect(redirectUri)) return undefined;
  return {
    client_id: clientId,
    client_id_issued_at: Math.floor(Date.now() / 1000),
    application_type: 'native',
    redirect_uris: [redirectUri],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  };
}

function checkIssuer(issuer: string): string {
  const url = URL.parse(issuer);
  if (!url || !/^https?:$/.test(url.protocol) || url.search || url.hash || issuer.endsWith('/')) {
    throw new Error(
      `local-auth: issuer ${JSON.stringify(issuer)} must be an http(s) URL without a trailing slash, query or fragment`,
    );
  }
  return issuer;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      const inUse = error instanceof Error && 'code' in error && error.code === 'EADDRINUSE';
      reject(inUse ? new Error(`local-auth: ${host}:${port} is already in use`) : error);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

// Every authorization shows the user/organization picker, even when the
// browser still has a session: a developer testing as alice, then bob, should
// not be signed in silently as whoever came first. (prompt=none therefore
// always answers login_required.)
function alwaysPickAccountPolicy(): InteractionPolicy {
  const policy = interactionPolicy.base();
  const { Check } = interactionPolicy;
  policy
    .get('login')
    ?.checks.add(
      new Check('pick_account', 'the local auth server asks which user and organization to use', (ctx) =>
        ctx.oidc?.result?.login ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT,
      ),
    );
  return policy;
}

function refuseHost(res: ServerResponse, authorities: ReadonlySet<string>): void {
  res.writeHead(421, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(
    JSON.stringify({
      error: 'misdirected_request',
      error_description: `This development server answers only to ${[...authorities].join(', ')}.`,
    }),
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export async function startLocalAuthServer(opts: LocalAuthServerOptions): Promise<LocalAuthServer> {
  if (process.env.NODE_ENV === 'production') {
    throw new Error('local-auth: refusing to start with NODE_ENV=production (development-only authorization server)');
  }
  checkOptions(opts);

  const sink = opts.log ?? ((): void => {});
  const log = (line: string): void => sink(escapeControlChars(line));
  const host = opts.host ?? '127.0.0.1';
  const accessTokenTtl = opts.accessTokenTtlSeconds ?? 3600;
  const currentScopes = scopeReader(opts.scopes, log);
  const offeredScopes = async (): Promise<ReadonlySet<string>> => new Set(await currentScopes());
  const oidcScopes = new Set(OIDC_SCOPES);
  // Match resources by normalized URL but put the configured spelling in `aud`,
  // which is what the MCP server compares against.
  const resourcesByHref = new Map(opts.resources.map((r) => [normalizeUrl(r) ?? r, r]));
  const grantContexts = new Map<string, GrantContext>();
  const machines = new Map((opts.machineClients ?? []).map((machine) => [machine.clientId, machine]));
  const environmentClientId = opts.environmentClientId ?? DEV_ENVIRONMENT_CLIENT_ID;
  const keys = await loadOrCreateSigningKeys(opts.keyFile ?? DEFAULT_KEY_FILE);
  if (keys.created) log(`generated signing key in ${keys.file}`);
  const storage = await createAdapterFactory({ clientsFile: opts.clientsFile, log });
  if (opts.outboundCa) log('client metadata documents: trusting only the configured development CA (loopback allowed)');

  let handle: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  let authorities: ReadonlySet<string> | undefined;
  const server = createServer((req, res) => {
    if (!handle || !authorities) {
      res.writeHead(503).end();
      return;
    }
    // First, before the directory API, the pages and oidc-provider: our own names only.
    if (!isOwnHost(req.headers.host, authorities)) {
      refuseHost(res, authorities);
      return;
    }
    handle(req, res).catch((error: unknown) => {
      log(`request failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const port = await listen(server, opts.port ?? 0, host);
  const issuer = checkIssuer(opts.issuer ?? `http://localhost:${port}`);
  const ownHosts = ownAuthorities(port, issuer);
  const issuerAuthority = new URL(issuer).host.toLowerCase();

  const configuration: Configuration = {
    ...(opts.outboundCa ? { fetch: fetchTrustingOnly(opts.outboundCa) } : {}),
    jwks: keys.jwks,
    adapter: storage.adapter,
    // Static, like an M2M application created in the WorkOS dashboard: never registered, never forgotten.
    clients: [...machines.values()].map((machine) => ({
      client_id: machine.clientId,
      client_secret: machine.clientSecret,
      client_name: machine.name,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    routes: { ...ROUTES },
    scopes: [...OIDC_SCOPES],
    // Authorization code flow only, like AuthKit (no implicit or hybrid).
    responseTypes: ['code'],
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],
    claims: {
      acr: null,
      auth_time: null,
      iss: null,
      sid: null,
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name'],
      email: ['email', 'email_verified'],
    },
    async findAccount(_ctx, sub) {
      const user = findUserById(sub);
      if (!user) return undefined;
      return {
        accountId: user.id,
        claims: () => ({
          sub: user.id,
          email: user.email,
          email_verified: user.emailVerified,
          given_name: user.firstName,
          family_name: user.lastName,
          name: `${user.firstName} ${user.lastName}`,
        }),
      };
    },
    // Random per start: interaction/session cookies need not survive restarts.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // Browser-based MCP clients (MCP Inspector) call the token endpoint cross-origin.
    clientBasedCORS: () => true,
    extraClientMetadata: {
      // RFC 7591 fields oidc-provider would otherwise drop. The validator also
      // drops a registered `scope`: MCP SDK clients send the resource scopes
      // there, which oidc-provider rejects (they are not OIDC scopes) and would
      // otherwise use as an allow-list that blocks stepping up later. AuthKit
      // does not restrict clients by registered scope either.
      properties: ['software_id', 'software_version'],
      validator(_ctx, key, value, metadata) {
        if (key === 'software_id') delete metadata.scope;
        if (value !== undefined && typeof value !== 'string') {
          throw new errors.InvalidClientMetadata(`${key} must be a string`);
        }
      },
    },
    async extraTokenClaims(_ctx, token) {
      // A WorkOS M2M token carries the application's organization and no `sid`.
      if (token.kind === 'ClientCredentials') {
        const machine = token.clientId === undefined ? undefined : machines.get(token.clientId);
        return machine ? { org_id: machine.organizationId } : undefined;
      }
      if (token.kind !== 'AccessToken' || !token.grantId) return undefined;
      const context = grantContexts.get(token.grantId);
      if (!context) return undefined;
      // AuthKit MCP tokens carry the organization and a consent-scoped `sid`,
      // and deliberately no roles or permissions.
      return { org_id: context.organizationId, sid: context.consentId };
    },
    // AuthKit hands MCP clients a refresh token whether or not they asked for
    // offline_access, and tokens do not die with the browser session.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: () => false,
    interactions: {
      policy: alwaysPickAccountPolicy(),
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    pkce: { required: () => true },
    async renderError(ctx, out) {
      const params = ctx.oidc?.params ?? ctx.query;
      const clientId = params.client_id;
      // An authorization request from a client this server does not know and could not restore
      // (restoreRegistration): say so in a way the client can act on.
      const unknownClient =
        ctx.oidc?.route === 'authorization' &&
        out.error === 'invalid_client' &&
        !ctx.oidc.client &&
        typeof clientId === 'string' &&
        !clientId.startsWith('https:'); // a metadata document URL is fetched, never registered
      const error = out.error ?? 'server_error';
      const description = unknownClient
        ? UNKNOWN_CLIENT_DESCRIPTION
        : (out.error_description ?? 'The request could not be processed.');
      if (unknownClient) {
        log(`authorization request from unknown client ${clientId.slice(0, 100)}: answered invalid_client`);
      }
      // Whoever asks for JSON gets the OAuth error object: mcp-remote checks an authorization URL
      // this way before opening a browser, and drops its registration on `invalid_client`.
      if (ctx.accepts('html', 'json') === 'json') {
        ctx.type = 'json';
        ctx.body = { error, error_description: description };
        return;
      }
      // A browser is never sent on to a redirect URI no registration vouches for (RFC 6749 §4.1.2.1).
      ctx.type = 'html';
      ctx.body = unknownClient ? unknownClientPage(clientId) : errorPage(error, description);
    },
    ttl: {
      AccessToken: accessTokenTtl,
      ClientCredentials: accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 14 * DAY,
      Interaction: 3600,
      Session: 14 * DAY,
      Grant: 14 * DAY,
    },
    features: {
      devInteractions: { enabled: false },
      // Only the static machine clients may use it (their grant_types); registered clients cannot add it.
      clientCredentials: { enabled: machines.size > 0 },
      // Not part of AuthKit; keeping them off keeps tokens plain Bearer JWTs.
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: true },
      registration: { enabled: true, initialAccessToken: false, issueRegistrationAccessToken: false },
      // Client ID Metadata Documents beside DCR (2026-07-28 prefers them): a client_id that is an
      // https URL is fetched, validated and cached by oidc-provider (an experimental feature in 9.x,
      // acknowledged at the draft it implements). http URLs are never accepted.
      clientIdMetadataDocument: { enabled: true, ack: 'draft-02' },
      revocation: {
        enabled: true,
        // A client may only revoke its own tokens.
        allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
      },
      introspection: {
        enabled: true,
        // Public clients may only introspect their own tokens.
        allowedPolicy: (_ctx, client, token) =>
          client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        // No `resource` on the request -> the first configured one (AuthKit's
        // default resource indicator).
        defaultResource: (_ctx, _client, oneOf) => (oneOf ? oneOf[0] : opts.resources[0]),
        // Token and refresh requests without `resource` still get a JWT for
        // the granted resource, even when `openid` was requested too.
        useGrantedResource: () => true,
        async getResourceServerInfo(_ctx, indicator, client) {
          const resource = resourcesByHref.get(normalizeUrl(indicator) ?? indicator);
          if (!resource) {
            throw new errors.InvalidTarget(`resource ${indicator} is not served by this authorization server`);
          }
          return {
            scope: (await currentScopes()).join(' '),
            // WorkOS M2M tokens name the environment, never the resource: the MCP server must cope with that.
            audience: machines.has(client.clientId) ? environmentClientId : resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: accessTokenTtl,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  };

  let provider: Provider;
  try {
    provider = new Provider(issuer, configuration);
  } catch (error) {
    server.close();
    throw error;
  }

  // A sign-in that asks for no scope at all (a client of a server whose primitives require none
  // advertises none) still signs the user in, as AuthKit does: oidc-provider refuses to resolve an
  // authorization that grants no scope, so such a request asks for `openid`.
  provider.use(async (ctx: KoaContextWithOIDC, next) => {
    if (ctx.method === 'GET' && ctx.path === '/oauth2/authorize' && !ctx.query.scope)
      ctx.query = { ...ctx.query, scope: 'openid' };
    await next();
  });

  // Advertise the resource scopes too; clients such as the token CLI default to them.
  provider.use(async (ctx: KoaContextWithOIDC, next) => {
    await next();
    if (ctx.oidc?.route === 'discovery' && isRecord(ctx.body)) {
      ctx.body = { ...ctx.body, scopes_supported: [...OIDC_SCOPES, ...(await currentScopes())] };
    }
  });

  provider.on('server_error', (_ctx, error) => log(`server error: ${error.message}`));
  for (const event of ['authorization.error', 'grant.error', 'registration_create.error'] as const) {
    provider.on(event, (_ctx, error) =>
      log(`${event}: ${error.error ?? error.message}${error.error_description ? ` (${error.error_description})` : ''}`),
    );
  }
  provider.on('registration_create.success', (_ctx, client) =>
    log(`registered client ${client.clientId}${client.clientName ? ` (${client.clientName})` : ''}`),
  );

  const callback = provider.callback();
  const workosApi = opts.workosApi ?? createWorkosApiHandler();
  const revocations = createRevocations({
    issuer,
    jwks: keys.jwks,
    provider,
    grantContexts,
    introspectionClient: opts.introspectionClient ?? {
      id: DEV_INTROSPECTION_CLIENT_ID,
      secret: DEV_INTROSPECTION_CLIENT_SECRET,
    },
    webhook: opts.webhook,
    log,
  });
  const interactions = createInteractionHandler({
    provider,
    offeredScopes,
    oidcScopes,
    grantContexts,
    issuerOrigin: new URL(issuer).origin,
    log,
  });

  // A client that saved its registration and comes back after the registrations were lost (the
  // clients file deleted, or the oldest dropped) would land on an error page and wait for a redirect
  // that never comes: mcp-remote and the MCP Inspector do not register again on an error from the
  // authorization endpoint. The request names all a public native client's registration holds, so
  // the registration is restored and the sign-in goes on.
  const restoreRegistration = async (query: URLSearchParams): Promise<void> => {
    const metadata = impliedRegistration(query);
    if (!metadata || (await provider.Client.find(String(metadata.client_id)))) return;
    try {
      await provider.Client.validate(metadata);
    } catch {
      return; // oidc-provider answers the request as for any unknown client
    }
    await storage.adapter('Client').upsert(String(metadata.client_id), metadata);
    log(
      `client ${String(metadata.client_id)} was not registered (registrations reset?): restored as a public client for ${String(query.get('redirect_uri'))}`,
    );
  };

  handle = async (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (workosApi(req, res)) return; // /user_management/* and /authorization/*, before oidc-provider
    if (req.headers.host?.toLowerCase() !== issuerAuthority) {
      // A browser keeps cookies per host name, so a sign-in that starts on
      // another of our names continues on the issuer's.
      if (req.method === 'GET' && (path === ROUTES.authorization || path.startsWith('/interaction/'))) {
        res.writeHead(307, { location: `${issuer}${req.url ?? '/'}`, 'cache-control': 'no-store' }).end();
        return;
      }
      // oidc-provider writes URLs (metadata, redirects) from Host: make them the configured issuer's.
      req.headers.host = issuerAuthority;
    }
    if (path.startsWith('/interaction/')) {
      await interactions(req, res, path);
      return;
    }
    // Before oidc-provider, which refuses to introspect JWT access tokens.
    if (await revocations.handle(req, res, path)) return;
    if (path === ROUTES.authorization && req.method === 'GET') {
      await restoreRegistration(new URL(req.url ?? '/', issuer).searchParams);
    }
    if (path === ROUTES.registration) {
      // oidc-provider sends no CORS headers for registration; browser-based
      // MCP clients register dynamically, so answer the preflight here.
      res.setHeader('access-control-allow-origin', req.headers.origin ?? '*');
      res.setHeader('vary', 'Origin');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'access-control-allow-methods': 'POST',
          'access-control-allow-headers': req.headers['access-control-request-headers'] ?? 'content-type',
          'access-control-max-age': '600',
        });
        res.end();
        return;
      }
    }
    if (path === '/' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Local development authorization server.\nMetadata: ${issuer}/.well-known/oauth-authorization-server\n`);
      return;
    }
    await callback(req, res);
  };

  authorities = ownHosts;

  let closed: Promise<void> | undefined;
  return {
    issuer,
    port,
    revocations,
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections (fetch reuses sockets) would hold close() open.
        server.closeAllConnections();
      }).then(() => storage.flush())),
  };
}
