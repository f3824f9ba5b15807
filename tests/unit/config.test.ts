import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, perConfig } from '@/lib/config';

const prod = {
  NODE_ENV: 'production',
  AUTHKIT_DOMAIN: 'https://acme.authkit.app',
  MCP_RESOURCE_URL: 'https://mcp.acme.com/mcp',
};

function failure(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config: development defaults', () => {
  it('points at the local authorization server and localhost resource', () => {
    const config = loadConfig({ NODE_ENV: 'development' });
    expect(config).toMatchObject({
      production: false,
      issuer: 'http://localhost:4000',
      jwksUrl: 'http://localhost:4000/oauth2/jwks',
      resourceUrl: 'http://localhost:3000/mcp',
      resourceMetadataUrl: 'http://localhost:3000/.well-known/oauth-protected-resource/mcp',
      audiences: ['http://localhost:3000/mcp'],
      algorithms: ['RS256'],
      authRequired: false,
      allowedClientIds: undefined,
      // Role lookups go to the local authorization server's WorkOS-shaped directory.
      workos: { apiKey: 'local-workos-dev-key', apiUrl: 'http://localhost:4000' },
    });
    expect(config.allowedOrigins).toContain('http://localhost:3000');
  });

  it('follows LOCAL_AUTH_PORT to the local authorization server npm run dev started', () => {
    expect(loadConfig({ NODE_ENV: 'development', LOCAL_AUTH_PORT: '4500' })).toMatchObject({
      issuer: 'http://localhost:4500',
      workos: { apiUrl: 'http://localhost:4500' },
    });
  });

  it('has no WorkOS lookups by default once a real issuer or production is configured', () => {
    expect(loadConfig({ AUTHKIT_DOMAIN: 'https://acme.authkit.app' }).workos).toBeUndefined();
    expect(loadConfig(prod).workos).toBeUndefined();
    expect(loadConfig({ ...prod, WORKOS_API_KEY: 'key_1', WORKOS_CLIENT_ID: 'client_1' }).workos).toEqual({
      apiKey: 'key_1',
      clientId: 'client_1',
      apiUrl: undefined,
    });
  });

  it('follows PORT for the default resource URL', () => {
    expect(loadConfig({ PORT: '3100' }).resourceUrl).toBe('http://localhost:3100/mcp');
  });
});

describe('config: production', () => {
  it('accepts a complete production environment', () => {
    const config = loadConfig({
      ...prod,
      AUTH_EXTRA_AUDIENCES: 'client_01ABC',
      ALLOWED_CLIENT_IDS: 'a, b',
      MCP_AUTH_REQUIRED: 'true',
    });
    expect(config).toMatchObject({
      production: true,
      issuer: 'https://acme.authkit.app',
      jwksUrl: 'https://acme.authkit.app/oauth2/jwks',
      resourceUrl: 'https://mcp.acme.com/mcp',
      resourceMetadataUrl: 'https://mcp.acme.com/.well-known/oauth-protected-resource/mcp',
      audiences: ['https://mcp.acme.com/mcp', 'client_01ABC'],
      allowedOrigins: [],
      allowedClientIds: ['a', 'b'],
      authRequired: true,
    });
  });

  it('strips one trailing slash so iss and aud compare exactly', () => {
    const config = loadConfig({
      ...prod,
      AUTHKIT_DOMAIN: 'https://acme.authkit.app/',
      MCP_RESOURCE_URL: 'https://mcp.acme.com/mcp/',
    });
    expect(config.issuer).toBe('https://acme.authkit.app');
    expect(config.resourceUrl).toBe('https://mcp.acme.com/mcp');
  });

  it('derives the resource URL from Vercel system variables, per deployment', () => {
    const base = { NODE_ENV: 'production', AUTHKIT_DOMAIN: 'https://acme.authkit.app' };
    expect(
      loadConfig({
        ...base,
        VERCEL_ENV: 'production',
        VERCEL_PROJECT_PRODUCTION_URL: 'mcp.acme.com',
        VERCEL_URL: 'x-123.vercel.app',
      }).resourceUrl,
    ).toBe('https://mcp.acme.com/mcp');
    expect(loadConfig({ ...base, VERCEL_ENV: 'preview', VERCEL_URL: 'x-123.vercel.app' }).resourceUrl).toBe(
      'https://x-123.vercel.app/mcp',
    );
  });
});

describe('config: a Vercel deployment is production even without NODE_ENV', () => {
  // Vercel's Edge functions run without NODE_ENV; development defaults must never reach a deployment.
  it.each(['production', 'preview'])(
    'VERCEL_ENV=%s: production rules (no localhost origins, issuer required)',
    (vercelEnv) => {
      const deployed = {
        VERCEL: '1',
        VERCEL_ENV: vercelEnv,
        VERCEL_URL: 'x-1.vercel.app',
        VERCEL_PROJECT_PRODUCTION_URL: 'mcp.acme.com',
      };
      expect(() => loadConfig(deployed)).toThrow(/AUTHKIT_DOMAIN: must be set in production/);
      const config = loadConfig({ ...deployed, AUTHKIT_DOMAIN: 'https://acme.authkit.app' });
      expect(config).toMatchObject({ production: true, allowedOrigins: [] });
    },
  );

  it('VERCEL_ENV=development (vercel dev) keeps the development defaults', () => {
    expect(loadConfig({ VERCEL_ENV: 'development' }).production).toBe(false);
  });
});

describe('config: failures name the variable in one line', () => {
  const cases: Array<[string, Record<string, string | undefined>, string, RegExp]> = [
    [
      'issuer missing in production',
      { NODE_ENV: 'production', MCP_RESOURCE_URL: 'https://m.example/mcp' },
      'AUTHKIT_DOMAIN',
      /must be set in production/,
    ],
    [
      'resource missing in production',
      { NODE_ENV: 'production', AUTHKIT_DOMAIN: 'https://a.authkit.app' },
      'MCP_RESOURCE_URL',
      /must be set in production/,
    ],
    ['http issuer on a public host', { AUTHKIT_DOMAIN: 'http://acme.authkit.app' }, 'AUTHKIT_DOMAIN', /https/],
    ['http resource on a public host', { MCP_RESOURCE_URL: 'http://mcp.acme.com/mcp' }, 'MCP_RESOURCE_URL', /https/],
    ['issuer not a URL', { AUTHKIT_DOMAIN: 'acme.authkit.app' }, 'AUTHKIT_DOMAIN', /not a valid URL/],
    ['resource with a fragment', { MCP_RESOURCE_URL: 'https://m.example/mcp#x' }, 'MCP_RESOURCE_URL', /fragment/],
    ['resource with a query', { MCP_RESOURCE_URL: 'https://m.example/mcp?a=1' }, 'MCP_RESOURCE_URL', /query/],
    ['JWKS over http to a public host', { AUTH_JWKS_URL: 'http://keys.example/jwks' }, 'AUTH_JWKS_URL', /https/],
    ['symmetric algorithm', { AUTH_ALGORITHMS: 'RS256,HS256' }, 'AUTH_ALGORITHMS', /HS256/],
    ['alg none', { AUTH_ALGORITHMS: 'none' }, 'AUTH_ALGORITHMS', /none/],
    ['bad boolean', { MCP_AUTH_REQUIRED: 'yes' }, 'MCP_AUTH_REQUIRED', /true.*false/],
    ['bad port', { PORT: '70000' }, 'PORT', /1 to 65535/],
    ['bad local authorization server port', { LOCAL_AUTH_PORT: 'x' }, 'LOCAL_AUTH_PORT', /1 to 65535/],
    ['origin with a path', { ALLOWED_ORIGINS: 'https://app.example.com/x' }, 'ALLOWED_ORIGINS', /bare origins/],
    ['empty client allowlist', { ALLOWED_CLIENT_IDS: ' , ' }, 'ALLOWED_CLIENT_IDS', /empty/],
    [
      'http metadata-document client id',
      { ALLOWED_CLIENT_IDS: 'http://app.example.com/client.json' },
      'ALLOWED_CLIENT_IDS',
      /https URLs with a path/,
    ],
    [
      'metadata-document client id without a path',
      { ALLOWED_CLIENT_IDS: 'https://app.example.com' },
      'ALLOWED_CLIENT_IDS',
      /https URLs with a path/,
    ],
    [
      'metadata-document client id with a fragment',
      { ALLOWED_CLIENT_IDS: 'https://app.example.com/c.json#x' },
      'ALLOWED_CLIENT_IDS',
      /https URLs with a path/,
    ],
    [
      'metadata-document client id not canonical (upper-case host)',
      { ALLOWED_CLIENT_IDS: 'https://App.Example.com/c.json' },
      'ALLOWED_CLIENT_IDS',
      /not in canonical form .*byte for byte/,
    ],
    [
      // Split on spaces first, this was once two entries nobody wrote: https://a.example/a and b.json.
      'a metadata-document client id with a space',
      { ALLOWED_CLIENT_IDS: 'https://a.example/a b.json' },
      'ALLOWED_CLIENT_IDS',
      /not a client id .*separate ids with commas/,
    ],
    [
      'client ids separated by spaces only',
      { ALLOWED_CLIENT_IDS: 'client_a client_b' },
      'ALLOWED_CLIENT_IDS',
      /not a client id/,
    ],
    ['MCP_PUBLIC_ACCESS_MAP that is not a boolean', { MCP_PUBLIC_ACCESS_MAP: 'yes' }, 'MCP_PUBLIC_ACCESS_MAP', /true/],
    [
      'metadata-document client id not canonical (default port)',
      { ALLOWED_CLIENT_IDS: 'https://app.example.com:443/c.json' },
      'ALLOWED_CLIENT_IDS',
      /not in canonical form/,
    ],
    ['audit sink without a secret', { AUDIT_SINK_URL: 'https://logs.example.com/a' }, 'AUDIT_SINK_SECRET', /whsec_/],
    [
      'audit sink with a secret that is not a Standard Webhooks one',
      { AUDIT_SINK_URL: 'https://logs.example.com/a', AUDIT_SINK_SECRET: 'x'.repeat(40) },
      'AUDIT_SINK_SECRET',
      /whsec_ and the base64 of 24 to 64 random bytes/,
    ],
    [
      'audit sink with too short a key',
      { AUDIT_SINK_URL: 'https://logs.example.com/a', AUDIT_SINK_SECRET: `whsec_${btoa('x'.repeat(23))}` },
      'AUDIT_SINK_SECRET',
      /24 to 64/,
    ],
    [
      'audit sink with three secrets',
      { AUDIT_SINK_URL: 'https://logs.example.com/a', AUDIT_SINK_SECRET: `whsec_${btoa('x'.repeat(32))} `.repeat(3) },
      'AUDIT_SINK_SECRET',
      /two separated by a space while rotating/,
    ],
    ['trace subject key too short', { MCP_TRACE_SUBJECT_KEY: 'short' }, 'MCP_TRACE_SUBJECT_KEY', /32/],
    [
      'audit sink over http to a public host',
      { AUDIT_SINK_URL: 'http://logs.example.com/a', AUDIT_SINK_SECRET: `whsec_${btoa('x'.repeat(32))}` },
      'AUDIT_SINK_URL',
      /https/,
    ],
  ];
  it.each(cases)('%s', (_name, env, variable, hint) => {
    const error = failure(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^${variable}: `));
    expect(error.message).toMatch(hint);
    expect(error.message).not.toContain('\n');
  });

  it('names the WorkOS environment client id for machine tokens, and shows the access map only on opt-in', () => {
    expect(loadConfig(prod)).toMatchObject({
      environmentClientId: undefined,
      publicAccessMap: false,
      localIssuer: false,
    });
    expect(loadConfig({ ...prod, WORKOS_CLIENT_ID: 'client_01ENV', MCP_PUBLIC_ACCESS_MAP: 'true' })).toMatchObject({
      environmentClientId: 'client_01ENV',
      publicAccessMap: true,
    });
    // Development against the local authorization server: its environment id, and the map always shown.
    expect(loadConfig({ NODE_ENV: 'development' })).toMatchObject({
      environmentClientId: 'client_local_environment',
      publicAccessMap: true,
      localIssuer: true,
    });
    expect(loadConfig({ NODE_ENV: 'development', AUTHKIT_DOMAIN: 'https://acme.authkit.app' })).toMatchObject({
      environmentClientId: undefined,
      localIssuer: false,
    });
  });

  it('treats empty variables as unset', () => {
    expect(failure({ ...prod, AUTHKIT_DOMAIN: '' }).variable).toBe('AUTHKIT_DOMAIN');
    expect(loadConfig({ ...prod, ALLOWED_CLIENT_IDS: '', AUTH_EXTRA_AUDIENCES: ' ' })).toMatchObject({
      allowedClientIds: undefined,
      extraAudiences: [],
    });
  });

  it('allows http for every loopback form', () => {
    for (const host of ['localhost', '127.0.0.1', '127.10.0.3', '[::1]', 'dev.localhost']) {
      expect(() => loadConfig({ AUTHKIT_DOMAIN: `http://${host}:4000` })).not.toThrow();
    }
  });
});

describe('perConfig: one value per isolate and configuration', () => {
  it('keeps the value while the relevant part is unchanged and rebuilds when it changes', () => {
    let keys = 0;
    let created = 0;
    const valueFor = perConfig(
      (config) => (keys++, config.issuer),
      (config) => ({ n: ++created, issuer: config.issuer }),
    );
    const first = loadConfig({ NODE_ENV: 'development' });
    const v1 = valueFor(first);
    expect(valueFor(first)).toBe(v1);
    expect(keys).toBe(1); // the same config object: no key built again
    const equal = loadConfig({ NODE_ENV: 'development', ALLOWED_ORIGINS: 'https://app.example' });
    expect(valueFor(equal)).toBe(v1); // another object, same issuer: the same value
    const other = loadConfig({ NODE_ENV: 'development', AUTHKIT_DOMAIN: 'https://other.authkit.app' });
    expect(valueFor(other)).toMatchObject({ n: 2, issuer: 'https://other.authkit.app' });
    expect(created).toBe(2);
  });
});

describe('config: AUTH_MAX_TOKEN_LIFETIME_SECONDS', () => {
  it('defaults to 24 hours and follows the variable', () => {
    expect(loadConfig(prod).maxTokenLifetimeSeconds).toBe(86_400);
    expect(loadConfig({ ...prod, AUTH_MAX_TOKEN_LIFETIME_SECONDS: '3600' }).maxTokenLifetimeSeconds).toBe(3600);
  });

  it.each(['0', '59', '604801', '1.5', 'day', '-1'])('refuses %j, naming the variable', (value) => {
    const error = failure({ ...prod, AUTH_MAX_TOKEN_LIFETIME_SECONDS: value });
    expect(error.variable).toBe('AUTH_MAX_TOKEN_LIFETIME_SECONDS');
    expect(error.message).toMatch(/from 60 to 604800/);
  });
});
