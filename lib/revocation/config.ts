import { z } from 'zod';
import { CLOCK_TOLERANCE_SECONDS, ConfigError, DEV_WORKOS_API_KEY, parseSecureUrl, type Config } from '../config';

/**
 * The environment contract of revocation (docs/CONFIGURATION.md): how fresh each instance's view
 * of the deny list is, the WorkOS webhook secret, and the first-party credentials that introspect
 * tokens for primitives that need a live token. Pure; table-tested.
 */

/** Default and ceiling for reusing an introspection answer: "a few seconds at most". */
export const DEFAULT_INTROSPECTION_CACHE_MS = 2_000;
const MAX_INTROSPECTION_CACHE_MS = 5_000;
/** The local authorization server's introspection client (`npm run dev`), registered by scripts/local-auth. */
export const DEV_INTROSPECTION_CLIENT_ID = 'mcp-resource-server';
export const DEV_INTROSPECTION_CLIENT_SECRET = 'local-introspection-dev-secret';

const EnvSchema = z.object({
  WORKOS_WEBHOOK_SECRET: z.string().trim().min(1).optional(),
  MCP_INTROSPECTION_URL: z.string().trim().min(1).optional(),
  MCP_INTROSPECTION_CLIENT_ID: z.string().trim().min(1).optional(),
  MCP_INTROSPECTION_CLIENT_SECRET: z.string().trim().min(1).optional(),
  MCP_INTROSPECTION_CACHE_MS: z.string().trim().optional(),
});

export type RevocationConfig = {
  freshnessMs: number;
  /** How long a deny-list entry lives: the longest token it could cover. */
  denyTtlSeconds: number;
  webhookSecret: string | undefined;
  introspection: { url: string; clientId: string; clientSecret: string; cacheMs: number } | undefined;
};

function boundedInt(variable: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new ConfigError(
      variable,
      `must be a whole number of milliseconds from 0 to ${max}, got ${JSON.stringify(raw)}`,
    );
  return n;
}

export function loadRevocationConfig(rawEnv: Record<string, string | undefined>, config: Config): RevocationConfig {
  const present = Object.fromEntries(Object.entries(rawEnv).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const env = EnvSchema.parse(present);
  const local = config.workos?.apiKey === DEV_WORKOS_API_KEY; // development against the local authorization server
  const clientId = env.MCP_INTROSPECTION_CLIENT_ID ?? (local ? DEV_INTROSPECTION_CLIENT_ID : undefined);
  const clientSecret = env.MCP_INTROSPECTION_CLIENT_SECRET ?? (local ? DEV_INTROSPECTION_CLIENT_SECRET : undefined);
  if (Boolean(env.MCP_INTROSPECTION_CLIENT_ID) !== Boolean(env.MCP_INTROSPECTION_CLIENT_SECRET))
    throw new ConfigError(
      env.MCP_INTROSPECTION_CLIENT_ID ? 'MCP_INTROSPECTION_CLIENT_SECRET' : 'MCP_INTROSPECTION_CLIENT_ID',
      'must be set together with its pair (a first-party WorkOS application that may introspect tokens)',
    );
  const url = env.MCP_INTROSPECTION_URL
    ? parseSecureUrl(
        'MCP_INTROSPECTION_URL',
        env.MCP_INTROSPECTION_URL,
        `${config.issuer}/oauth2/introspection`,
      ).toString()
    : `${config.issuer}/oauth2/introspection`;
  return {
    freshnessMs: config.revocationFreshnessMs,
    denyTtlSeconds: config.maxTokenLifetimeSeconds + CLOCK_TOLERANCE_SECONDS,
    webhookSecret: env.WORKOS_WEBHOOK_SECRET,
    introspection:
      clientId && clientSecret
        ? {
            url,
            clientId,
            clientSecret,
            cacheMs: boundedInt(
              'MCP_INTROSPECTION_CACHE_MS',
              env.MCP_INTROSPECTION_CACHE_MS,
              DEFAULT_INTROSPECTION_CACHE_MS,
              MAX_INTROSPECTION_CACHE_MS,
            ),
          }
        : undefined,
  };
}
