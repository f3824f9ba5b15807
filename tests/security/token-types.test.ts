import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { authorizeOverHttp, createPkcePair, discover, registerPublicClient } from '../../scripts/oauth-client/flow';
import { startLocalAuthServer, type LocalAuthServer } from '../../scripts/local-auth/server';
import { MCP_HEADERS } from '../helpers/app';
import { serveFetchHandler, type Listening } from '../helpers/net';
import { countingRegistry, header, rawRequest, type RunLog } from './helpers';

/**
 * An OpenID Connect ID token is never an access token, whatever AUTH_EXTRA_AUDIENCES says. The
 * tokens come from the real local authorization server (oidc-provider) through the real
 * authorization code flow with `openid`, PKCE and a nonce; the endpoint accepts the client id as an
 * extra audience, the documented fallback when AuthKit has no resource indicator, which is exactly
 * the audience an ID token carries.
 */
const RESOURCE = 'http://127.0.0.1:1/mcp';
const ran: RunLog = [];
let auth: LocalAuthServer;
let dir: string;
let endpoint: Listening;
let tokens: { access: string; id: string; clientId: string };

async function tokensThroughTheFlow(): Promise<typeof tokens> {
  const metadata = await discover(auth.issuer);
  const { clientId, redirectUri } = await registerPublicClient(metadata, { clientName: 'id-token test' });
  const pkce = createPkcePair();
  const authorizationUrl = new URL(metadata.authorization_endpoint);
  authorizationUrl.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'openid profile email notes:read',
    state: 'state-1',
    nonce: 'nonce-0S6_WzA2Mj',
    code_challenge: pkce.challenge,
    code_challenge_method: 'S256',
    resource: RESOURCE,
  }).toString();
  const callback = await authorizeOverHttp({ authorizationUrl, user: 'alice' });
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in ${callback.search}`);
  const response = await fetch(metadata.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: pkce.verifier,
      client_id: clientId,
      resource: RESOURCE,
    }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { access_token?: string; id_token?: string };
  if (!body.access_token || !body.id_token)
    throw new Error(`token response without both tokens: ${JSON.stringify(Object.keys(body))}`);
  return { access: body.access_token, id: body.id_token, clientId };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'id-token-test-'));
  auth = await startLocalAuthServer({
    port: 0,
    host: '127.0.0.1',
    resources: [RESOURCE],
    scopes: ['notes:read'],
    keyFile: join(dir, 'keys.json'),
  });
  tokens = await tokensThroughTheFlow();
  const config = loadConfig({
    AUTHKIT_DOMAIN: auth.issuer,
    MCP_RESOURCE_URL: RESOURCE,
    AUTH_EXTRA_AUDIENCES: tokens.clientId,
  });
  endpoint = await serveFetchHandler(
    createMcpEndpoint({ registry: countingRegistry(ran), config: () => config, auditLine: () => {} }),
  );
}, 60_000);

afterAll(async () => {
  await endpoint?.close();
  await auth?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const callMember = (token: string) =>
  rawRequest(endpoint.url, {
    headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'member', arguments: {} } }),
  });

describe('tokens of the local authorization server', () => {
  it('the two shapes differ the way the verifier relies on', () => {
    const accessHeader = decodeProtectedHeader(tokens.access);
    const access = decodeJwt(tokens.access);
    const idHeader = decodeProtectedHeader(tokens.id);
    const id = decodeJwt(tokens.id);
    // The access token: typ at+jwt, the resource as its audience, jti, client_id, org_id and a consent sid.
    expect(accessHeader.typ).toBe('at+jwt');
    expect(access).toMatchObject({ aud: RESOURCE, client_id: tokens.clientId, org_id: 'org_acme' });
    expect(access.jti).toEqual(expect.any(String));
    expect(access.sid).toEqual(expect.any(String));
    expect(access).not.toHaveProperty('nonce');
    expect(access).not.toHaveProperty('email');
    // The ID token, like AuthKit's documented one: no typ, the client id as its audience, the nonce and
    // profile claims, and no jti, sid or client_id.
    expect(idHeader.typ).toBeUndefined();
    expect(id).toMatchObject({
      aud: tokens.clientId,
      nonce: 'nonce-0S6_WzA2Mj',
      iss: auth.issuer,
      email: expect.any(String),
      name: expect.any(String),
    });
    for (const claim of ['jti', 'sid', 'client_id']) expect(id).not.toHaveProperty(claim);
    expect(idHeader.kid).toBe(accessHeader.kid); // same issuer, same key: the signature alone tells nothing
  });

  it('the access token from the flow is accepted', async () => {
    ran.length = 0;
    const response = await callMember(tokens.access);
    expect(response.status, response.text.slice(0, 200)).toBe(200);
    expect(ran).toEqual([{ tool: 'member' }]);
  });

  it('the ID token from the same flow is refused with 401 invalid_token, although its aud is an accepted audience', async () => {
    ran.length = 0;
    const response = await callMember(tokens.id);
    expect(response.status).toBe(401);
    expect(header(response, 'www-authenticate')).toMatch(
      /^Bearer error="invalid_token", error_description="The (access token lacks a required claim|token is not an access token)"/,
    );
    expect(ran).toEqual([]);
  });
});
