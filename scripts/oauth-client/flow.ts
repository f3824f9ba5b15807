// Drives the real OAuth flow against the local authorization server over HTTP,
// the way an MCP client plus a person at the browser would: discovery, Dynamic
// Client Registration (public client), PKCE S256, authorize with `resource`,
// the sign-in + consent pages as plain form POSTs (no browser, so no Origin;
// the interaction cookie and the page's form token go back as a browser would
// send them), then the token exchange. Used by `npm run token` and by the
// server-side tests; what a person does in a browser is tested with Chromium
// (tests/e2e/browser-sign-in.test.ts).

import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { findUser, organizationsOf } from '../local-auth/directory';
import { OIDC_SCOPES } from '../local-auth/oidc-scopes';

type Fetch = typeof fetch;

const REQUEST_TIMEOUT_MS = 10_000;
const MAX_STEPS = 10;
const DEFAULT_REDIRECT_URI = 'http://127.0.0.1/local-auth/callback';
const OIDC = new Set(OIDC_SCOPES);

/** An OAuth error response (`error` is the RFC 6749 code, e.g. invalid_target). */
export class OAuthFlowError extends Error {
  constructor(
    readonly error: string,
    readonly description?: string,
  ) {
    super(description ? `${error}: ${description}` : error);
    this.name = 'OAuthFlowError';
  }
}

const OAuthErrorBody = z.object({ error: z.string(), error_description: z.string().optional() });

const Metadata = z.object({
  issuer: z.string(),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
  registration_endpoint: z.string(),
  jwks_uri: z.string(),
  scopes_supported: z.array(z.string()).optional(),
});
export type AuthorizationServerMetadata = z.infer<typeof Metadata>;

const RegisteredClient = z.object({ client_id: z.string() });

const TokenResponse = z.object({
  access_token: z.string(),
  token_type: z.string(),
  expires_in: z.number(),
  refresh_token: z.string().optional(),
  scope: z.string().optional(),
});

export interface TokenSet {
  accessToken: string;
  refreshToken?: string | undefined;
  clientId: string;
  scope: string;
  expiresIn: number;
}

async function request(fetchFn: Fetch, url: string | URL, init: RequestInit = {}): Promise<Response> {
  return fetchFn(url, { redirect: 'manual', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...init });
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`expected JSON from ${res.url} (HTTP ${res.status}), got: ${text.slice(0, 200)}`);
  }
}

async function parseOAuthResponse<T>(res: Response, schema: z.ZodType<T>): Promise<T> {
  const body = await readJson(res);
  if (!res.ok) {
    const error = OAuthErrorBody.safeParse(body);
    if (error.success) throw new OAuthFlowError(error.data.error, error.data.error_description);
    throw new Error(`HTTP ${res.status} from ${res.url}`);
  }
  return schema.parse(body);
}

// ---------------------------------------------------------------------------
// Cookies: just enough of RFC 6265 for one host. oidc-provider scopes its
// interaction and resume cookies by path, so path matching matters.

interface StoredCookie {
  name: string;
  value: string;
  path: string;
}

/** Cookies for one host; share one between authorizeOverHttp calls to act like one browser. */
export class CookieJar {
  readonly #cookies = new Map<string, StoredCookie>();

  store(res: Response): void {
    for (const header of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [key = '', ...rest] = attribute.trim().split('=');
        const attrValue = rest.join('=');
        const lower = key.toLowerCase();
        if (lower === 'path' && attrValue.startsWith('/')) path = attrValue;
        if (lower === 'max-age' && Number(attrValue) <= 0) expired = true;
        if (lower === 'expires' && Date.parse(attrValue) <= Date.now()) expired = true;
      }
      const key = `${name};${path}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  header(url: URL): string | undefined {
    const matching = [...this.#cookies.values()].filter(
      (c) =>
        url.pathname === c.path ||
        (url.pathname.startsWith(c.path) && (c.path.endsWith('/') || url.pathname[c.path.length] === '/')),
    );
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }
}

// ---------------------------------------------------------------------------

export interface AuthorizeOverHttpOptions {
  /** The full authorization request URL (…/oauth2/authorize?…). */
  authorizationUrl: string | URL;
  /** Short name (`alice`), user id or email from the seeded directory. */
  user: string;
  /** Organization id; defaults to the user's first organization. */
  org?: string | undefined;
  /** Press Allow (default) or Deny on the consent page. */
  approve?: boolean | undefined;
  /** Reuse a jar to keep the server's session cookies, like a browser would. */
  cookies?: CookieJar | undefined;
  fetch?: Fetch | undefined;
}

interface HtmlForm {
  action: string;
  hidden: [string, string][];
}

function unescapeHtml(value: string): string {
  return value
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

// Enough HTML parsing for the pages this server renders (its own interaction
// pages and oidc-provider's auto-submitting form_post page).
function parseForms(html: string): HtmlForm[] {
  return [...html.matchAll(/<form\b[^>]*\baction="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)].map((m) => ({
    action: unescapeHtml(m[1] ?? ''),
    hidden: [...(m[2] ?? '').matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"/g)].map(
      (i): [string, string] => [unescapeHtml(i[1] ?? ''), unescapeHtml(i[2] ?? '')],
    ),
  }));
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

/**
 * Follows an authorization URL through the sign-in and consent pages and
 * returns the final redirect to the client (with `code` and `state`, or an
 * `error`), without following it.
 */
export async function authorizeOverHttp(opts: AuthorizeOverHttpOptions): Promise<URL> {
  const fetchFn = opts.fetch ?? fetch;
  const start = new URL(opts.authorizationUrl);
  const redirectUri = start.searchParams.get('redirect_uri');
  const user = findUser(opts.user);
  if (!user) throw new Error(`unknown user ${JSON.stringify(opts.user)}`);
  const org = opts.org ?? organizationsOf(user.id)[0]?.id;
  if (!org) throw new Error(`user ${user.handle} belongs to no organization`);

  const jar = opts.cookies ?? new CookieJar();
  let url = start;
  let body: URLSearchParams | undefined;

  for (let step = 0; step < MAX_STEPS; step++) {
    const headers = new Headers();
    const cookie = jar.header(url);
    if (cookie) headers.set('cookie', cookie);
    if (body) headers.set('content-type', 'application/x-www-form-urlencoded');
    const res = await request(fetchFn, url, { method: body ? 'POST' : 'GET', headers, body: body ?? null });
    jar.store(res);

    if (isRedirect(res.status)) {
      await res.body?.cancel();
      const location = res.headers.get('location');
      if (!location) throw new Error(`redirect without Location from ${url.href}`);
      const next = new URL(location, url);
      const toClient = redirectUri
        ? next.href.startsWith(redirectUri) && next.origin === new URL(redirectUri).origin
        : next.origin !== start.origin;
      if (toClient) return next;
      url = next;
      body = undefined;
      continue;
    }

    const text = await res.text();
    if (res.status !== 200) {
      const plain = text
        .replace(/<[^>]*>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim();
      throw new Error(`authorization stopped at ${url.pathname} with HTTP ${res.status}: ${plain.slice(0, 300)}`);
    }
    const forms = parseForms(text);
    const login = forms.find((f) => /^\/interaction\/[^/]+\/login$/.test(f.action));
    const confirm = forms.find((f) => /^\/interaction\/[^/]+\/confirm$/.test(f.action));
    const [only] = forms;
    // The page's hidden fields (its form token among them) go back as they are;
    // the pick is set explicitly, so the server's own check of it is exercised.
    if (login) {
      url = new URL(login.action, url);
      body = new URLSearchParams(login.hidden);
      body.set('user', user.id);
      body.set('org', org);
    } else if (confirm) {
      url = new URL(confirm.action, url);
      body = new URLSearchParams(confirm.hidden);
      body.set('user', user.id);
      body.set('org', org);
      body.set('decision', opts.approve === false ? 'deny' : 'allow');
    } else if (forms.length === 1 && only && new URL(only.action, url).origin === start.origin) {
      // oidc-provider's auto-submitting page (e.g. ending the previous
      // browser session when a different user was picked): submit it as is.
      url = new URL(only.action, url);
      body = new URLSearchParams(only.hidden);
    } else {
      throw new Error(`unexpected page at ${url.pathname} (no sign-in or consent form)`);
    }
  }
  throw new Error(`authorization did not finish within ${MAX_STEPS} steps`);
}

// ---------------------------------------------------------------------------

export async function discover(issuer: string, fetchFn: Fetch = fetch): Promise<AuthorizationServerMetadata> {
  let res: Response;
  try {
    res = await request(fetchFn, `${issuer}/.well-known/oauth-authorization-server`);
  } catch (cause) {
    throw new Error(`cannot reach the authorization server at ${issuer}`, { cause });
  }
  if (!res.ok) throw new Error(`no authorization server metadata at ${issuer} (HTTP ${res.status})`);
  const metadata = Metadata.parse(await readJson(res));
  if (metadata.issuer !== issuer) {
    throw new Error(`metadata issuer ${metadata.issuer} does not match ${issuer}`);
  }
  return metadata;
}

/** Registers a public client the way MCP SDK clients do (RFC 7591, no secret). */
export async function registerPublicClient(
  metadata: AuthorizationServerMetadata,
  opts: {
    redirectUri?: string | undefined;
    clientName?: string | undefined;
    scope?: string | undefined;
    fetch?: Fetch | undefined;
  } = {},
): Promise<{ clientId: string; redirectUri: string }> {
  const redirectUri = opts.redirectUri ?? DEFAULT_REDIRECT_URI;
  const res = await request(opts.fetch ?? fetch, metadata.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: opts.clientName ?? 'local-auth token helper',
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      ...(opts.scope ? { scope: opts.scope } : {}),
    }),
  });
  const client = await parseOAuthResponse(res, RegisteredClient);
  return { clientId: client.client_id, redirectUri };
}

export function createPkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function toTokenSet(clientId: string, body: z.infer<typeof TokenResponse>): TokenSet {
  if (body.token_type.toLowerCase() !== 'bearer') {
    throw new Error(`unexpected token_type ${body.token_type}`);
  }
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    clientId,
    scope: body.scope ?? '',
    expiresIn: body.expires_in,
  };
}

async function tokenRequest(
  metadata: AuthorizationServerMetadata,
  clientId: string,
  params: Record<string, string | undefined>,
  fetchFn: Fetch,
): Promise<TokenSet> {
  const form = new URLSearchParams({ client_id: clientId });
  for (const [key, value] of Object.entries(params)) if (value !== undefined) form.set(key, value);
  const res = await request(fetchFn, metadata.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  return toTokenSet(clientId, await parseOAuthResponse(res, TokenResponse));
}

export interface MintTokenOptions {
  issuer: string;
  /** Short name (`alice`), user id or email. */
  user: string;
  /** Organization id; defaults to the user's first organization. */
  org?: string | undefined;
  /** Space-separated scopes; defaults to every non-OIDC scope the server advertises. */
  scope?: string | undefined;
  /** Resource indicator (the MCP server URL, e.g. http://localhost:3000/mcp). */
  resource: string;
  redirectUri?: string | undefined;
  fetch?: Fetch | undefined;
}

/** Runs the whole authorization code flow and returns the issued tokens. */
export async function mintToken(opts: MintTokenOptions): Promise<TokenSet> {
  const fetchFn = opts.fetch ?? fetch;
  const metadata = await discover(opts.issuer, fetchFn);
  const scope = opts.scope ?? (metadata.scopes_supported ?? []).filter((s) => !OIDC.has(s)).join(' ');
  const { clientId, redirectUri } = await registerPublicClient(metadata, {
    redirectUri: opts.redirectUri,
    fetch: fetchFn,
  });
  const pkce = createPkcePair();
  const state = randomBytes(16).toString('base64url');

  const authorizationUrl = new URL(metadata.authorization_endpoint);
  authorizationUrl.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
    state,
    code_challenge: pkce.challenge,
    code_challenge_method: 'S256',
    resource: opts.resource,
  }).toString();

  const callback = await authorizeOverHttp({
    authorizationUrl,
    user: opts.user,
    org: opts.org,
    fetch: fetchFn,
  });
  const error = callback.searchParams.get('error');
  if (error) throw new OAuthFlowError(error, callback.searchParams.get('error_description') ?? undefined);
  if (callback.searchParams.get('state') !== state) throw new Error('state mismatch in authorization response');
  const iss = callback.searchParams.get('iss');
  if (iss !== null && iss !== metadata.issuer)
    throw new Error(`authorization response iss ${iss} is not ${metadata.issuer}`);
  const code = callback.searchParams.get('code');
  if (!code) throw new Error('authorization response has no code');

  return tokenRequest(
    metadata,
    clientId,
    {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: pkce.verifier,
      resource: opts.resource,
    },
    fetchFn,
  );
}

/** Exchanges a refresh token (public client) for a new access token. */
export async function refreshAccessToken(opts: {
  issuer: string;
  clientId: string;
  refreshToken: string;
  resource?: string | undefined;
  scope?: string | undefined;
  fetch?: Fetch | undefined;
}): Promise<TokenSet> {
  const fetchFn = opts.fetch ?? fetch;
  const metadata = await discover(opts.issuer, fetchFn);
  return tokenRequest(
    metadata,
    opts.clientId,
    { grant_type: 'refresh_token', refresh_token: opts.refreshToken, resource: opts.resource, scope: opts.scope },
    fetchFn,
  );
}

/**
 * A machine's token: the client_credentials grant with client_secret_basic (RFC 6749 §4.4, §2.3.1),
 * as a WorkOS M2M application gets one. No person, no browser.
 */
export async function machineToken(opts: {
  issuer: string;
  clientId: string;
  clientSecret: string;
  resource: string;
  scope?: string | undefined;
  fetch?: Fetch | undefined;
}): Promise<TokenSet> {
  const fetchFn = opts.fetch ?? fetch;
  const metadata = await discover(opts.issuer, fetchFn);
  const form = new URLSearchParams({ grant_type: 'client_credentials', resource: opts.resource });
  if (opts.scope) form.set('scope', opts.scope);
  // RFC 6749 §2.3.1: both parts form-urlencoded before they are joined.
  const basic = Buffer.from(`${encodeURIComponent(opts.clientId)}:${encodeURIComponent(opts.clientSecret)}`);
  const res = await request(fetchFn, metadata.token_endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${basic.toString('base64')}`,
    },
    body: form,
  });
  return toTokenSet(opts.clientId, await parseOAuthResponse(res, TokenResponse));
}
