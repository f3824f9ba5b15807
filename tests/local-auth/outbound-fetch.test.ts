// @vitest-environment node
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPkcePair } from '../../scripts/oauth-client/flow';
import { fetchTrustingOnly } from '../../scripts/local-auth/outbound-fetch';
import type { LocalAuthServer } from '../../scripts/local-auth/server';
import type { Listening } from '../helpers/net';
import { listenHttps, selfSignedCertificate, type Certificate } from '../helpers/tls';
import { makeTempDir, startTestServer } from './helpers';

/**
 * The development CA for Client ID Metadata Documents: with `outboundCa` the local authorization
 * server reads a document served on https://127.0.0.1 with a certificate that CA made, and
 * nothing signed by anyone else; without it, oidc-provider's own fetch never reaches loopback.
 */
const REDIRECT_URI = 'http://127.0.0.1:6274/oauth/callback';
let trusted: Certificate;
let stranger: Certificate;
let documents: Listening;
let clientId: string;
const requests: string[] = [];
let withCa: LocalAuthServer;
let withoutCa: LocalAuthServer;
let removeDir: () => Promise<void>;

beforeAll(async () => {
  [trusted, stranger] = [selfSignedCertificate(), selfSignedCertificate()];
  documents = await listenHttps(trusted, (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        client_id: clientId,
        client_name: 'outbound-fetch test',
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'none',
      }),
    );
  });
  clientId = `${documents.url}/oauth/client.json`;
  const tmp = await makeTempDir();
  removeDir = tmp.remove;
  [withCa, withoutCa] = await Promise.all([
    startTestServer(join(tmp.dir, 'a.json'), { outboundCa: trusted.cert }),
    startTestServer(join(tmp.dir, 'b.json')),
  ]);
});
afterAll(async () => {
  await Promise.all([withCa?.close(), withoutCa?.close(), documents?.close()]);
  await removeDir?.();
});

describe('fetchTrustingOnly', () => {
  it('reads a document from a server whose certificate the CA made', async () => {
    const response = await fetchTrustingOnly(trusted.cert)(clientId, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ client_id: clientId });
  });

  it('refuses a server whose certificate another CA made, http URLs, and requests with a body', async () => {
    await expect(fetchTrustingOnly(stranger.cert)(clientId)).rejects.toThrow(/self-signed|certificate/i);
    const fetchIt = fetchTrustingOnly(trusted.cert);
    await expect(fetchIt(clientId.replace('https:', 'http:'))).rejects.toThrow(/https only/);
    await expect(fetchIt(clientId, { method: 'POST', body: '{}' })).rejects.toThrow(/not supported/);
    expect(() => fetchTrustingOnly('not a certificate')).toThrow(/PEM/);
  });
});

function authorize(server: LocalAuthServer): Promise<Response> {
  const url = new URL(`${server.issuer}/oauth2/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'notes:read',
    state: 'state-1',
    code_challenge: createPkcePair().challenge,
    code_challenge_method: 'S256',
  }).toString();
  return fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
}

describe('the local authorization server and a metadata document on loopback', () => {
  it('with the development CA, fetches the document and starts the sign-in', async () => {
    const before = requests.length;
    const response = await authorize(withCa);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/interaction\//);
    expect(requests.slice(before)).toEqual(['GET /oauth/client.json']);
  });

  it('without it, never reaches the document and refuses the client', async () => {
    const before = requests.length;
    const response = await authorize(withoutCa);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/invalid_client/);
    expect(requests.slice(before)).toEqual([]);
  });
});
