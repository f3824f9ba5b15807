// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@/lib/config';
import { protectedResourceMetadata } from '@/lib/metadata';
import { useTestServer } from './helpers';

const testServer = useTestServer();

async function getJson(path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${testServer().issuer}${path}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

describe('authorization server metadata', () => {
  it('serves the same document at both well-known locations', async () => {
    const oidc = await getJson('/.well-known/openid-configuration');
    const oauth = await getJson('/.well-known/oauth-authorization-server');
    expect(oauth).toEqual(oidc);
    expect(oauth.issuer).toBe(testServer().issuer);
    expect(testServer().issuer).toBe(`http://localhost:${testServer().port}`);
  });

  it('is shaped like AuthKit: /oauth2/ endpoints, S256 only, open registration', async () => {
    const metadata = await getJson('/.well-known/oauth-authorization-server');
    const base = `${testServer().issuer}/oauth2/`;
    expect(metadata.authorization_endpoint).toBe(`${base}authorize`);
    expect(metadata.token_endpoint).toBe(`${base}token`);
    expect(metadata.registration_endpoint).toBe(`${base}register`);
    expect(metadata.jwks_uri).toBe(`${base}jwks`);
    for (const key of ['userinfo_endpoint', 'introspection_endpoint', 'revocation_endpoint']) {
      expect(String(metadata[key])).toMatch(new RegExp(`^${base}`));
    }
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.response_types_supported).toEqual(['code']);
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['openid', 'notes:read', 'notes:write']));
  });

  it('its issuer is, byte for byte, the PRM authorization_servers entry the app derives in development', async () => {
    const metadata = await getJson('/.well-known/oauth-authorization-server');
    const config = loadConfig({ NODE_ENV: 'development', LOCAL_AUTH_PORT: String(testServer().port) });
    const prm = protectedResourceMetadata(config, []) as { authorization_servers: string[] };
    expect(prm.authorization_servers).toEqual([metadata.issuer]);
  });

  it('advertises iss in authorization responses (RFC 9207) and Client ID Metadata Documents beside DCR', async () => {
    const metadata = await getJson('/.well-known/oauth-authorization-server');
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    expect(metadata.client_id_metadata_document_supported).toBe(true);
    expect(metadata.registration_endpoint).toBe(`${testServer().issuer}/oauth2/register`);
  });

  it('serves an RS256 public JWKS without private members', async () => {
    const jwks = (await getJson('/oauth2/jwks')) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
      expect(typeof key.kid).toBe('string');
      expect(key).not.toHaveProperty('d');
    }
  });

  it('registers public clients the way MCP SDK clients do', async () => {
    const res = await fetch(`${testServer().issuer}/oauth2/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:6274' },
      body: JSON.stringify({
        client_name: 'MCP Inspector',
        redirect_uris: ['http://localhost:6274/oauth/callback', 'http://127.0.0.1:33418/callback'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        scope: 'notes:read notes:write',
      }),
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(body)).toBe(201);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:6274');
    expect(typeof body.client_id).toBe('string');
    expect(body).not.toHaveProperty('client_secret');
    expect(body.token_endpoint_auth_method).toBe('none');
    expect(body.redirect_uris).toEqual(['http://localhost:6274/oauth/callback', 'http://127.0.0.1:33418/callback']);
  });

  it('answers the CORS preflight for registration', async () => {
    const res = await fetch(`${testServer().issuer}/oauth2/register`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:6274',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:6274');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
  });
});
