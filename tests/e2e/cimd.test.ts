import {
  Client,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type ClientOptions,
} from '@modelcontextprotocol/client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Listening } from '../helpers/net';
import { SignInAsProvider } from '../helpers/oauth-client';
import { type FixtureStack, startFixtureStack } from '../helpers/fixture-stack';
import { listenHttps, selfSignedCertificate } from '../helpers/tls';

/**
 * Client ID Metadata Documents end to end: the official v2 client, whose client_id is the https
 * URL of its metadata document, signs in against the local authorization server without Dynamic
 * Client Registration and calls a private tool through the framework serving a fixture app. The document
 * is served over HTTPS on 127.0.0.1 with a certificate made for this run; only the authorization
 * server of this test trusts it (`outboundCa`). The app allows exactly that URL
 * (ALLOWED_CLIENT_IDS); a client whose URL differs from the entry by one character (letter case,
 * which a URL parser would not normalise in a path either) completes sign-in and is refused.
 */
const REDIRECT_URI = 'http://127.0.0.1:6274/oauth/callback'; // SignInAsProvider's; nothing listens there
let documents: Listening;
let stack: FixtureStack;
let allowedId: string;
let otherId: string;
const documentFetches: string[] = [];
const authLog: string[] = [];

beforeAll(async () => {
  const certificate = selfSignedCertificate();
  documents = await listenHttps(certificate, (req, res) => {
    documentFetches.push(`${req.method} ${req.url}`);
    const clientId = `${documents.url}${req.url}`;
    if (req.method !== 'GET' || (clientId !== allowedId && clientId !== otherId)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
    res.end(
      JSON.stringify({
        client_id: clientId,
        client_name: 'CIMD e2e client',
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      }),
    );
  });
  allowedId = `${documents.url}/oauth/client.json`;
  otherId = `${documents.url}/oauth/Client.json`;
  stack = await startFixtureStack({
    auth: { outboundCa: certificate.cert, log: (line) => authLog.push(line) },
    env: { ALLOWED_CLIENT_IDS: allowedId },
  });
});
afterAll(async () => {
  await stack?.close();
  await documents?.close();
});

/** The v2 OAuth client provider with a metadata-document URL instead of registering. */
class MetadataDocumentProvider extends SignInAsProvider {
  constructor(readonly clientMetadataUrl: string) {
    super('alice', 'org_acme');
  }
}

type Seen = { method: string; url: string; status: number; body: string };

/** The v2 client on one wire, with every request it makes (MCP and OAuth) and each answer recorded. */
async function connect(provider: MetadataDocumentProvider, versionNegotiation?: ClientOptions['versionNegotiation']) {
  const seen: Seen[] = [];
  const recording = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const response = await fetch(request);
    const body = response.status >= 400 ? await response.clone().text() : '';
    seen.push({ method: request.method, url: request.url, status: response.status, body });
    return response;
  };
  const transport = new StreamableHTTPClientTransport(new URL(stack.resource), {
    authProvider: provider,
    fetch: recording,
  });
  const client = new Client({ name: 'cimd-e2e', version: '1.0.0' }, versionNegotiation ? { versionNegotiation } : {});
  await client.connect(transport);
  return { client, transport, seen };
}

/** 401 -> discovery -> authorize with the https client_id -> sign-in; returns the redirect the client received. */
async function signIn(provider: MetadataDocumentProvider, client: Client): Promise<URL> {
  await expect(client.callTool({ name: 'docs_write', arguments: { title: 'cimd' } })).rejects.toBeInstanceOf(
    UnauthorizedError,
  );
  const authorization = provider.authorizations.at(-1);
  expect(authorization?.searchParams.get('client_id')).toBe(provider.clientMetadataUrl);
  return provider.takeCallback();
}

const WIRES: Array<{ name: string; versionNegotiation?: ClientOptions['versionNegotiation'] }> = [
  { name: '2026-07-28 (pinned)', versionNegotiation: { mode: { pin: '2026-07-28' } } },
  { name: '2025-11-25 (legacy)' },
];

describe.each(WIRES)('v2 client with a Client ID Metadata Document, $name wire', ({ versionNegotiation }) => {
  it('signs in with its https client_id, never registers, and the allowlisted URL reaches a private tool', async () => {
    const provider = new MetadataDocumentProvider(allowedId);
    const { client, transport, seen } = await connect(provider, versionNegotiation);
    try {
      const callback = await signIn(provider, client);
      // RFC 9207: the redirect the authorization server sent the client names the issuer.
      expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
      expect(callback.searchParams.get('iss')).toBe(stack.auth.issuer);
      await transport.finishAuth(callback.searchParams);

      expect(provider.information?.client_id).toBe(allowedId);
      const claims = decodeJwt(provider.tokens()!.access_token);
      expect(claims).toMatchObject({ iss: stack.auth.issuer, aud: stack.resource, client_id: allowedId });

      const before = stack.records.length;
      const created = await client.callTool({ name: 'docs_write', arguments: { title: 'cimd' } });
      expect(created).toMatchObject({ structuredContent: { organizationId: 'org_acme', title: 'cimd' } });
      expect(stack.records.slice(before)).toMatchObject([
        { type: 'tool_call', tool: 'docs_write', decision: 'allow', client_id: allowedId, sub: 'user_alice' },
      ]);

      // No DCR: the client asked the authorization server for metadata, authorization and tokens only...
      const toAuth = seen.filter((s) => s.url.startsWith(stack.auth.issuer)).map((s) => new URL(s.url).pathname);
      expect(toAuth).toContain('/oauth2/token');
      expect(toAuth).not.toContain('/oauth2/register');
      // ...and the authorization server registered nothing; it read the document instead.
      expect(authLog.filter((line) => /regist/.test(line))).toEqual([]);
      expect(documentFetches).toContain('GET /oauth/client.json');
    } finally {
      await client.close();
    }
  });
});

describe('ALLOWED_CLIENT_IDS compares the URL byte for byte', () => {
  it('refuses a client whose https client_id differs from the entry by one character: 403, one audit record', async () => {
    expect(otherId.toLowerCase()).toBe(allowedId.toLowerCase());
    const provider = new MetadataDocumentProvider(otherId);
    const { client, transport, seen } = await connect(provider, { mode: { pin: '2026-07-28' } });
    try {
      const callback = await signIn(provider, client);
      expect(callback.searchParams.get('iss')).toBe(stack.auth.issuer);
      await transport.finishAuth(callback.searchParams);
      expect(decodeJwt(provider.tokens()!.access_token).client_id).toBe(otherId);
      expect(documentFetches).toContain('GET /oauth/Client.json');

      const before = stack.records.length;
      const sent = seen.length;
      await expect(client.callTool({ name: 'docs_write', arguments: { title: 'no' } })).rejects.toThrow();
      const answers = seen.slice(sent).filter((s) => s.url === stack.resource);
      expect(answers.map((s) => s.status)).toEqual([403]);
      expect(JSON.parse(answers[0]!.body)).toMatchObject({ error: { data: { reason: 'client_not_allowed' } } });
      expect(stack.records.slice(before)).toMatchObject([
        { type: 'request_rejected', reason: 'client_not_allowed', status: 403, client_id: otherId, sub: 'user_alice' },
      ]);
    } finally {
      await client.close();
    }
  });
});
