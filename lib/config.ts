import { z } from 'zod';

/**
 * The environment contract (docs/CONFIGURATION.md, .env.example).
 * `loadConfig` is pure so every case is table-tested; `getConfig` memoizes it per isolate.
 */

const SUPPORTED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

/** Seconds of clock skew accepted on exp/nbf/iat; small and fixed on purpose (RFC 9068 §4). */
export const CLOCK_TOLERANCE_SECONDS = 30;
/** Largest POST body /mcp reads; past it the answer is 413 before anything is parsed. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** ttlMs of caller-filtered lists unless MCP_LIST_TTL_MS says otherwise (lib/wire/cache.ts). */
export const DEFAULT_LIST_TTL_MS = 30_000;
/** Longest list TTL allowed: a revoked scope must stop showing its tools within minutes. */
const MAX_LIST_TTL_MS = 300_000;
/** Longest bearer token we will try to verify; longer ones are refused unparsed. */
export const MAX_TOKEN_LENGTH = 8192;
/**
 * How long an instance may reuse what it learnt about a token's standing (the deny list, the
 * issuer's key set, a verified token) unless MCP_REVOCATION_FRESHNESS_MS says otherwise: a
 * revocation or a removed signing key reaches every instance within this plus one round trip.
 */
export const DEFAULT_REVOCATION_FRESHNESS_MS = 1_000;
const MAX_REVOCATION_FRESHNESS_MS = 60_000;
/** Longest accepted access-token lifetime (`exp - iat`) unless AUTH_MAX_TOKEN_LIFETIME_SECONDS says otherwise. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;
/** AUTH_MAX_TOKEN_LIFETIME_SECONDS may not go beyond a week: a longer-lived token is not one we revoke by waiting. */
const MAX_TOKEN_LIFETIME_LIMIT_SECONDS = 7 * 24 * 60 * 60;

/** The local authorization server `npm run dev` starts (scripts/local-auth/main.ts, LOCAL_AUTH_PORT). */
const devIssuer = (port: number) => `http://localhost:${port}`;
/** The local authorization server also answers WorkOS User Management calls with this development key. */
export const DEV_WORKOS_API_KEY = 'local-workos-dev-key';
/** The local authorization server's environment client id: the `aud` of the machine tokens it issues, as WorkOS does. */
export const DEV_ENVIRONMENT_CLIENT_ID = 'client_local_environment';
const DEV_ORIGINS = ['http://localhost:3000', 'http://127.0.0.1:3000', 'http://localhost:6274'];

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly hint: string,
  ) {
    super(`${variable}: ${hint}`);
    this.name = 'ConfigError';
  }
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * The one check for every configured URL (this file, the notes store, the directory client, the
 * audit sink): https everywhere, http only for loopback hosts; no credentials, query or fragment.
 * The raw value is never echoed: a misplaced secret must not reach a log line.
 */
export function parseSecureUrl(
  variable: string,
  raw: string,
  example: string,
  options: { allowQuery?: boolean } = {},
): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(variable, `not a valid URL; set it to e.g. ${example}`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new ConfigError(variable, `must use https:// (http:// is allowed only for loopback hosts); e.g. ${example}`);
  }
  if (url.username || url.password || (url.search && !options.allowQuery) || url.hash) {
    throw new ConfigError(variable, `must not contain credentials, a query or a fragment; e.g. ${example}`);
  }
  return url;
}

const WEBHOOK_SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;
const WEBHOOK_SECRET_HINT =
  'must be one Standard Webhooks secret, or two separated by a space while rotating: whsec_ and the base64 of 24 to 64 random bytes (e.g. whsec_$(openssl rand -base64 32))';

/**
 * Standard Webhooks signing secrets (`whsec_<base64 of 24 to 64 bytes>`): the first signs, a second
 * one (the previous secret, while receivers move over) signs too. The value is never echoed.
 */
export function parseWebhookSecrets(variable: string, raw: string | undefined): string[] {
  const secrets = (raw ?? '').trim().split(/\s+/).filter(Boolean);
  const valid = (secret: string) => {
    const base64 = WEBHOOK_SECRET.exec(secret)?.[1];
    if (!base64) return false;
    try {
      const bytes = atob(base64).length;
      return bytes >= 24 && bytes <= 64;
    } catch {
      return false;
    }
  };
  if (secrets.length === 0 || secrets.length > 2 || !secrets.every(valid))
    throw new ConfigError(variable, WEBHOOK_SECRET_HINT);
  return secrets;
}

/** Removes one trailing slash so the string compares exactly with `iss` / `aud` claims. */
function withoutTrailingSlash(url: URL): string {
  const s = url.toString();
  return url.pathname !== '/' && s.endsWith('/') ? s.slice(0, -1) : url.pathname === '/' ? url.origin : s;
}

/**
 * ALLOWED_CLIENT_IDS: split on commas only, since a client id may be a URL and a URL never holds a
 * comma unescaped; an entry that still holds whitespace is a mistake (two ids, or a URL with a
 * space), refused at start rather than split into two entries nobody wrote.
 */
function clientIdList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((value) => {
      if (!/^[\x21-\x7E]+$/.test(value))
        throw new ConfigError(
          'ALLOWED_CLIENT_IDS',
          `${JSON.stringify(value)} is not a client id (spaces or control characters); separate ids with commas`,
        );
      return value;
    });
}

function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

const EnvSchema = z.object({
  NODE_ENV: z.string().optional(),
  AUTHKIT_DOMAIN: z.string().trim().min(1).optional(),
  AUTH_JWKS_URL: z.string().trim().min(1).optional(),
  AUTH_ALGORITHMS: z.string().trim().min(1).optional(),
  MCP_RESOURCE_URL: z.string().trim().min(1).optional(),
  AUTH_EXTRA_AUDIENCES: z.string().optional(),
  AUTH_MAX_TOKEN_LIFETIME_SECONDS: z.string().trim().optional(),
  MCP_AUTH_REQUIRED: z.string().trim().optional(),
  ALLOWED_ORIGINS: z.string().optional(),
  ALLOWED_CLIENT_IDS: z.string().optional(),
  WORKOS_API_KEY: z.string().trim().min(1).optional(),
  WORKOS_CLIENT_ID: z.string().trim().min(1).optional(),
  WORKOS_API_URL: z.string().trim().min(1).optional(),
  PORT: z.string().trim().optional(),
  LOCAL_AUTH_PORT: z.string().trim().optional(),
  AUDIT_SINK_URL: z.string().trim().min(1).optional(),
  AUDIT_SINK_SECRET: z.string().optional(),
  VERCEL_ENV: z.string().optional(),
  VERCEL_URL: z.string().optional(),
  VERCEL_PROJECT_PRODUCTION_URL: z.string().optional(),
  MCP_LIST_TTL_MS: z.string().trim().optional(),
  MCP_REQUEST_STATE_KEY: z.string().optional(),
  MCP_REQUEST_STATE_TTL_SECONDS: z.string().trim().optional(),
  MCP_PUBLIC_ACCESS_MAP: z.string().trim().optional(),
  MCP_TRACE_SUBJECT_KEY: z.string().optional(),
  MCP_REVOCATION_FRESHNESS_MS: z.string().trim().optional(),
});

const ConfigSchema = z.object({
  production: z.boolean(),
  issuer: z.string(),
  jwksUrl: z.string(),
  algorithms: z.array(z.enum(SUPPORTED_ALGORITHMS)).min(1),
  resourceUrl: z.string(),
  resourceMetadataUrl: z.string(),
  audiences: z.array(z.string()).min(1),
  extraAudiences: z.array(z.string()),
  /** Longest accepted `exp - iat` of an access token, in seconds. */
  maxTokenLifetimeSeconds: z.number().int().positive(),
  authRequired: z.boolean(),
  allowedOrigins: z.array(z.string()),
  allowedClientIds: z.array(z.string()).optional(),
  /**
   * The WorkOS environment client id (WORKOS_CLIENT_ID): the `aud` of WorkOS machine-to-machine
   * tokens, accepted for machine-shaped tokens only (lib/auth/verify.ts). Unset: no machine token passes on it.
   */
  environmentClientId: z.string().optional(),
  /** Development against the bundled local authorization server (no AUTHKIT_DOMAIN): what only it issues is honoured. */
  localIssuer: z.boolean(),
  /** Whether the landing page shows the access map and approvals: always in development, in production on opt-in. */
  publicAccessMap: z.boolean(),
  workos: z.object({ apiKey: z.string(), clientId: z.string().optional(), apiUrl: z.string().optional() }).optional(),
  port: z.number().int(),
  /** Optional HTTP audit sink: records are POSTed in batches, signed as Standard Webhooks (one secret, two while rotating). */
  auditSink: z.object({ url: z.string(), secrets: z.array(z.string()).min(1).max(2) }).optional(),
  /** HMAC key for the subject's keyed hash on spans (lib/telemetry/); unset: spans carry no subject hash. */
  traceSubjectKey: z.string().min(32).optional(),
  /** ttlMs on caller-filtered lists (2026-07-28); always cacheScope private (lib/wire/cache.ts). */
  listTtlMs: z.number().int().min(0),
  /** The HMAC key (unset: see lib/endpoint/request-state.ts) and lifetime of multi round-trip request states. */
  requestState: z.object({ key: z.string().optional(), ttlSeconds: z.number().int().positive() }),
  /** Milliseconds an instance reuses a deny-list answer, the issuer's key set and a verified token. */
  revocationFreshnessMs: z.number().int().min(0),
});
export type Config = z.infer<typeof ConfigSchema>;

function parseBoolean(variable: string, raw: string | undefined): boolean {
  if (raw === undefined || raw === '') return false;
  if (/^(true|1)$/i.test(raw)) return true;
  if (/^(false|0)$/i.test(raw)) return false;
  throw new ConfigError(variable, `must be "true" or "false", got ${JSON.stringify(raw)}`);
}

function parsePort(raw: string | undefined, name = 'PORT', fallback = 3000): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new ConfigError(name, `must be an integer from 1 to 65535, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function parseListTtl(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_LIST_TTL_MS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > MAX_LIST_TTL_MS) {
    throw new ConfigError(
      'MCP_LIST_TTL_MS',
      `must be an integer from 0 to ${MAX_LIST_TTL_MS} (milliseconds), got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

/** Seconds a sealed request state is accepted unless MCP_REQUEST_STATE_TTL_SECONDS says otherwise. */
const DEFAULT_REQUEST_STATE_TTL_SECONDS = 300;
/** Long enough for a person to answer a form; short enough to bound a replay. */
const MAX_REQUEST_STATE_TTL_SECONDS = 3600;

/** The key must have at least 32 bytes (the SDK's codec refuses shorter ones); it may be unset here. */
function parseRequestState(key: string | undefined, ttl: string | undefined): Config['requestState'] {
  let ttlSeconds = DEFAULT_REQUEST_STATE_TTL_SECONDS;
  if (ttl !== undefined && ttl !== '') {
    ttlSeconds = Number(ttl);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_REQUEST_STATE_TTL_SECONDS) {
      throw new ConfigError(
        'MCP_REQUEST_STATE_TTL_SECONDS',
        `must be a whole number of seconds from 1 to ${MAX_REQUEST_STATE_TTL_SECONDS}, got ${JSON.stringify(ttl)}`,
      );
    }
  }
  if (key !== undefined && new TextEncoder().encode(key).length < 32) {
    throw new ConfigError(
      'MCP_REQUEST_STATE_KEY',
      'must be at least 32 bytes of random text (e.g. openssl rand -base64 48)',
    );
  }
  return { ...(key !== undefined && { key }), ttlSeconds };
}

function resolveResourceUrl(env: z.infer<typeof EnvSchema>, production: boolean, port: number): URL {
  const example = 'https://your-app.vercel.app/mcp';
  if (env.MCP_RESOURCE_URL) return parseSecureUrl('MCP_RESOURCE_URL', env.MCP_RESOURCE_URL, example);
  // On Vercel, each deployment gets its own audience: production the stable domain, previews their own URL.
  const vercelHost =
    env.VERCEL_ENV === 'production' ? env.VERCEL_PROJECT_PRODUCTION_URL : env.VERCEL_ENV ? env.VERCEL_URL : undefined;
  if (vercelHost) return parseSecureUrl('MCP_RESOURCE_URL', `https://${vercelHost}/mcp`, example);
  if (production) {
    throw new ConfigError('MCP_RESOURCE_URL', `must be set in production to the public URL of /mcp, e.g. ${example}`);
  }
  return new URL(`http://localhost:${port}/mcp`);
}

function parseOrigins(raw: string | undefined, production: boolean): string[] {
  if (raw === undefined) return production ? [] : DEV_ORIGINS;
  return list(raw).map((value) => {
    const url = parseSecureUrl('ALLOWED_ORIGINS', value, 'https://app.example.com');
    if (url.pathname !== '/' || value.endsWith('/')) {
      throw new ConfigError(
        'ALLOWED_ORIGINS',
        `entries must be bare origins like https://app.example.com, got ${JSON.stringify(value)}`,
      );
    }
    return url.origin;
  });
}

function parseMaxTokenLifetime(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 60 || n > MAX_TOKEN_LIFETIME_LIMIT_SECONDS) {
    throw new ConfigError(
      'AUTH_MAX_TOKEN_LIFETIME_SECONDS',
      `must be a whole number of seconds from 60 to ${MAX_TOKEN_LIFETIME_LIMIT_SECONDS}, got ${JSON.stringify(raw)}; e.g. 3600`,
    );
  }
  return n;
}

function parseFreshness(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_REVOCATION_FRESHNESS_MS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > MAX_REVOCATION_FRESHNESS_MS) {
    throw new ConfigError(
      'MCP_REVOCATION_FRESHNESS_MS',
      `must be a whole number of milliseconds from 0 to ${MAX_REVOCATION_FRESHNESS_MS}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

function parseAlgorithms(raw: string | undefined): Config['algorithms'] {
  if (!raw) return ['RS256'];
  return list(raw).map((alg) => {
    const parsed = z.enum(SUPPORTED_ALGORITHMS).safeParse(alg);
    if (!parsed.success) {
      throw new ConfigError(
        'AUTH_ALGORITHMS',
        `${JSON.stringify(alg)} is not allowed; use asymmetric algorithms from ${SUPPORTED_ALGORITHMS.join(', ')}`,
      );
    }
    return parsed.data;
  });
}

/**
 * Why a client id is not one tokens can be matched against, or undefined when it is. A URL is a
 * Client ID Metadata Document client: it must be https with a path, no credentials or fragment, and
 * written in canonical form, because tokens are matched against it byte for byte (no normalisation,
 * so no entry matches more than it says). Shared by ALLOWED_CLIENT_IDS and the approvals file.
 */
export function clientIdProblem(value: string): string | undefined {
  if (!/^[\x21-\x7E]+$/.test(value)) return 'a client id is visible ASCII without spaces';
  if (!value.includes('://')) return undefined;
  const url = URL.parse(value);
  if (url?.protocol !== 'https:' || url.pathname === '/' || url.username || url.password || url.hash)
    return 'metadata-document client ids are https URLs with a path, e.g. https://app.example.com/oauth/client.json';
  if (url.href !== value)
    return `not in canonical form (${JSON.stringify(url.href)}); client ids are compared byte for byte`;
  return undefined;
}

function checkClientId(value: string): string {
  const problem = clientIdProblem(value);
  if (problem) throw new ConfigError('ALLOWED_CLIENT_IDS', `${JSON.stringify(value)}: ${problem}`);
  return value;
}

/** The RFC 9728 path-inserted metadata URL for a resource: https://host/.well-known/oauth-protected-resource/mcp */
function protectedResourceMetadataUrl(resourceUrl: string): string {
  const url = new URL(resourceUrl);
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

export function loadConfig(rawEnv: Record<string, string | undefined>): Config {
  // A variable set to an empty string (common in hosting dashboards) counts as unset.
  const present = Object.fromEntries(
    Object.entries(rawEnv).filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(String(issue?.path[0] ?? 'environment'), issue?.message ?? 'invalid value');
  }
  const env = parsed.data;
  // A Vercel deployment is production whatever NODE_ENV says: the Edge bundle does not set it, and
  // a preview or production deployment must never fall back to development defaults.
  const production = env.NODE_ENV === 'production' || env.VERCEL_ENV === 'production' || env.VERCEL_ENV === 'preview';
  const port = parsePort(env.PORT);

  if (!env.AUTHKIT_DOMAIN && production) {
    throw new ConfigError(
      'AUTHKIT_DOMAIN',
      'must be set in production to your AuthKit issuer, e.g. https://your-app.authkit.app',
    );
  }
  const localIssuerUrl = devIssuer(parsePort(env.LOCAL_AUTH_PORT, 'LOCAL_AUTH_PORT', 4000));
  const localIssuer = !production && !env.AUTHKIT_DOMAIN;
  const issuerUrl = parseSecureUrl(
    'AUTHKIT_DOMAIN',
    env.AUTHKIT_DOMAIN ?? localIssuerUrl,
    'https://your-app.authkit.app',
  );
  const issuer = withoutTrailingSlash(issuerUrl);
  const jwksUrl = env.AUTH_JWKS_URL
    ? parseSecureUrl('AUTH_JWKS_URL', env.AUTH_JWKS_URL, `${issuer}/oauth2/jwks`).toString()
    : `${issuer}/oauth2/jwks`;

  const resourceUrl = withoutTrailingSlash(resolveResourceUrl(env, production, port));
  const extraAudiences = list(env.AUTH_EXTRA_AUDIENCES);
  const allowedClientIds =
    env.ALLOWED_CLIENT_IDS === undefined ? undefined : clientIdList(env.ALLOWED_CLIENT_IDS).map(checkClientId);
  if (allowedClientIds && allowedClientIds.length === 0) {
    throw new ConfigError(
      'ALLOWED_CLIENT_IDS',
      'is set but empty; list client ids separated by commas, or unset it to allow any client',
    );
  }
  if (env.WORKOS_API_URL) parseSecureUrl('WORKOS_API_URL', env.WORKOS_API_URL, 'https://api.workos.com');
  let auditSink: Config['auditSink'];
  if (env.AUDIT_SINK_URL) {
    const url = parseSecureUrl('AUDIT_SINK_URL', env.AUDIT_SINK_URL, 'https://logs.example.com/mcp-audit').toString();
    auditSink = { url, secrets: parseWebhookSecrets('AUDIT_SINK_SECRET', env.AUDIT_SINK_SECRET) };
  }
  const traceSubjectKey = env.MCP_TRACE_SUBJECT_KEY || undefined;
  if (traceSubjectKey && traceSubjectKey.length < 32)
    throw new ConfigError(
      'MCP_TRACE_SUBJECT_KEY',
      'must be at least 32 random characters (e.g. openssl rand -base64 48)',
    );

  return {
    production,
    issuer,
    jwksUrl,
    algorithms: parseAlgorithms(env.AUTH_ALGORITHMS),
    resourceUrl,
    resourceMetadataUrl: protectedResourceMetadataUrl(resourceUrl),
    audiences: [resourceUrl, ...extraAudiences],
    extraAudiences,
    maxTokenLifetimeSeconds: parseMaxTokenLifetime(env.AUTH_MAX_TOKEN_LIFETIME_SECONDS),
    authRequired: parseBoolean('MCP_AUTH_REQUIRED', env.MCP_AUTH_REQUIRED),
    allowedOrigins: parseOrigins(env.ALLOWED_ORIGINS, production),
    allowedClientIds,
    environmentClientId: env.WORKOS_CLIENT_ID ?? (localIssuer ? DEV_ENVIRONMENT_CLIENT_ID : undefined),
    localIssuer,
    // Parsed in development too, so a typo is caught before it reaches production.
    publicAccessMap: parseBoolean('MCP_PUBLIC_ACCESS_MAP', env.MCP_PUBLIC_ACCESS_MAP) || !production,
    workos: env.WORKOS_API_KEY
      ? { apiKey: env.WORKOS_API_KEY, clientId: env.WORKOS_CLIENT_ID, apiUrl: env.WORKOS_API_URL }
      : localIssuer
        ? // Development with the local authorization server: it serves the seeded directory too.
          { apiKey: DEV_WORKOS_API_KEY, apiUrl: localIssuerUrl }
        : undefined,
    port,
    auditSink,
    traceSubjectKey,
    listTtlMs: parseListTtl(env.MCP_LIST_TTL_MS),
    requestState: parseRequestState(env.MCP_REQUEST_STATE_KEY, env.MCP_REQUEST_STATE_TTL_SECONDS),
    revocationFreshnessMs: parseFreshness(env.MCP_REVOCATION_FRESHNESS_MS),
  };
}

let cached: { config: Config } | { error: ConfigError } | undefined;

/** Config for this isolate, loaded once. Throws ConfigError (one line naming the variable). */
/**
 * One value per isolate for the part of the configuration `keyOf` picks (verifier, identity lookup,
 * audit sink): rebuilt only when that part changes, and returned without building the key while the
 * config object is the cached one, which is every request after the first.
 */
export function perConfig<T>(keyOf: (config: Config) => unknown, create: (config: Config) => T): (config: Config) => T {
  let last: { config: Config; key: string; value: T } | undefined;
  return (config) => {
    if (last?.config === config) return last.value;
    const key = JSON.stringify(keyOf(config));
    last = { config, key, value: last?.key === key ? last.value : create(config) };
    return last.value;
  };
}

export function getConfig(): Config {
  if (!cached) {
    try {
      cached = { config: loadConfig(process.env) };
      if (cached.config.extraAudiences.length > 0) {
        console.warn(
          `[config] AUTH_EXTRA_AUDIENCES accepts tokens for ${cached.config.extraAudiences.join(', ')} besides ${cached.config.resourceUrl}; prefer a resource indicator`,
        );
      }
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      cached = { error };
    }
  }
  if ('error' in cached) throw cached.error;
  return cached.config;
}

/** Tests reload the environment between cases. */
export function resetConfigForTests(): void {
  cached = undefined;
}
