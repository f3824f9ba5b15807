// @vitest-environment node
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  authorizeOverHttp,
  createPkcePair,
  discover,
  mintToken,
  registerPublicClient,
  type AuthorizationServerMetadata,
} from '../../scripts/oauth-client/flow';
import type { LocalAuthServer } from '../../scripts/local-auth/server';
import { RESOURCE, makeTempDir, startTestServer } from './helpers';

let server: LocalAuthServer;
let tmp: { dir: string; remove: () => Promise<void> };
let metadata: AuthorizationServerMetadata;
let client: { clientId: string; redirectUri: string };

beforeAll(async () => {
  tmp = await makeTempDir();
  server = await startTestServer(join(tmp.dir, 'keys.json'));
  metadata = await discover(server.issuer);
  client = await registerPublicClient(metadata);
});

afterAll(async () => {
  await server?.close();
  await tmp?.remove();
});

function authorizationUrl(params: Record<string, string | undefined>): URL {
  const url = new URL(metadata.authorization_endpoint);
  const search = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    scope: 'notes:read',
    state: 'st',
  });
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) search.delete(key);
    else search.set(key, value);
  }
  url.search = search.toString();
  return url;
}

describe('requests the server refuses', () => {
  it('refuses a resource that is not configured', async () => {
    const callback = await authorizeOverHttp({
      authorizationUrl: authorizationUrl({
        resource: 'http://localhost:9999/other',
        code_challenge: createPkcePair().challenge,
        code_challenge_method: 'S256',
      }),
      user: 'alice',
    });
    expect(callback.searchParams.get('error')).toBe('invalid_target');
    expect(callback.searchParams.has('code')).toBe(false);

    await expect(
      mintToken({ issuer: server.issuer, user: 'alice', resource: 'http://localhost:9999/other' }),
    ).rejects.toMatchObject({ error: 'invalid_target' });
  });

  it('refuses PKCE method plain', async () => {
    const callback = await authorizeOverHttp({
      authorizationUrl: authorizationUrl({
        resource: RESOURCE,
        code_challenge: 'a'.repeat(43),
        code_challenge_method: 'plain',
      }),
      user: 'alice',
    });
    expect(callback.searchParams.get('error')).toBe('invalid_request');
    expect(callback.searchParams.get('error_description')).toMatch(/code_challenge_method/);
  });

  it('refuses a request without a PKCE challenge', async () => {
    const callback = await authorizeOverHttp({
      authorizationUrl: authorizationUrl({ resource: RESOURCE }),
      user: 'alice',
    });
    expect(callback.searchParams.get('error')).toBe('invalid_request');
    expect(callback.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('refuses a code exchange with the wrong verifier', async () => {
    const pkce = createPkcePair();
    const callback = await authorizeOverHttp({
      authorizationUrl: authorizationUrl({
        resource: RESOURCE,
        code_challenge: pkce.challenge,
        code_challenge_method: 'S256',
      }),
      user: 'alice',
    });
    const code = callback.searchParams.get('code');
    expect(code, callback.href).toBeTruthy();
    const res = await fetch(metadata.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: client.clientId,
        code: code ?? '',
        redirect_uri: client.redirectUri,
        code_verifier: createPkcePair().verifier,
        resource: RESOURCE,
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('rejects to start with NODE_ENV=production', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    try {
      await expect(startTestServer(join(tmp.dir, 'prod-keys.json'))).rejects.toThrow(/NODE_ENV=production/);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
