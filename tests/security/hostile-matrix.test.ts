import { gzipSync } from 'node:zlib';
import { exportJWK, exportSPKI, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '@/lib/audit/record';
import type { DirectoryLookup } from '@/lib/directory/workos';
import { createTokenVerifier, type TokenVerifier } from '@/lib/auth/verify';
import { loadConfig, type Config } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { SECURITY_HEADERS } from '@/lib/http/origin';
import { auditRecords, MCP_HEADERS, startApp, type RunningApp } from '../helpers/app';
import { startTestIssuer, type SignOptions, type TestIssuer } from '../helpers/issuer';
import { listen, serveFetchHandler, type Listening } from '../helpers/net';
import {
  b64,
  countingRegistry,
  expectJsonErrorBody,
  header,
  jwt,
  LEAK,
  nowSeconds,
  rawRequest,
  recordShowsRun,
  rpcBody,
  rs256Raw,
  type RawRequest,
  type RawResponse,
  type RunLog,
} from './helpers';

/**
 * The hostile-request matrix. Every row is one (or, for the kid flood, many) hostile requests with
 * the exact status and WWW-Authenticate text expected, and proof that no tool ran:
 *  - in-process rows hit createMcpEndpoint over real HTTP on 127.0.0.1 with a fixture registry
 *    whose handlers count every run, and read the audit records the endpoint wrote;
 *  - app rows hit the built app under `next start` (middleware, Next's own routing, Node's HTTP
 *    parser) and prove "no tool ran" from its audit lines: each request is followed by a marker
 *    request whose audit record closes that request's slice of the log, so the records each row
 *    left are counted exactly (0 when the middleware or Next answered before the route).
 */

// ---------------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------------
const RESOURCE = 'https://mcp.example.test/mcp';
const EXTRA_AUDIENCE = 'client_01EXTRAAUDIENCE';
const PRM = 'https://mcp.example.test/.well-known/oauth-protected-resource/mcp';

const ran: RunLog = [];
const records: AuditRecord[] = [];
const registry = countingRegistry(ran);

/** Membership answers for admin_only: user_admin is an admin, user_down's lookup fails, everyone else is a member. */
const lookup: DirectoryLookup = {
  membership: async (userId) =>
    userId === 'user_down'
      ? 'unavailable'
      : { roles: userId === 'user_admin' ? ['admin'] : ['member'], permissions: [] },
  user: async () => 'unavailable',
  members: async () => 'unavailable',
  requestCount: () => 0,
};

type Target = 'endpoint' | 'required' | 'clients' | 'jwks' | 'extra' | 'app';

let issuer: TestIssuer;
let jwksIssuer: TestIssuer;
let attackerJwks: Listening;
let attackerHits = 0;
let attacker: { privateKey: CryptoKey; publicJwk: JWK };
let app: RunningApp;
const servers: Partial<Record<Exclude<Target, 'app'>, Listening>> = {};

/** One production verifier per endpoint (its own JWKS cache), created on first use like verifierFor. */
function ownVerifier(): (config: Config) => TokenVerifier {
  let verify: TokenVerifier | undefined;
  return (config) => (verify ??= createTokenVerifier(config));
}

beforeAll(async () => {
  [issuer, jwksIssuer] = await Promise.all([startTestIssuer(), startTestIssuer()]);
  const pair = await generateKeyPair('RS256', { extractable: true });
  attacker = {
    privateKey: pair.privateKey,
    publicJwk: { ...(await exportJWK(pair.publicKey)), kid: 'attacker-1', alg: 'RS256', use: 'sig' },
  };
  attackerJwks = await listen((_req, res) => {
    attackerHits += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [attacker.publicJwk] }));
  });

  const env = { NODE_ENV: 'production', AUTHKIT_DOMAIN: issuer.issuer, MCP_RESOURCE_URL: RESOURCE };
  const configs: Record<Exclude<Target, 'app'>, Config> = {
    endpoint: loadConfig(env),
    required: loadConfig({ ...env, MCP_AUTH_REQUIRED: 'true' }),
    clients: loadConfig({ ...env, ALLOWED_CLIENT_IDS: 'client_1' }),
    jwks: loadConfig({ ...env, AUTHKIT_DOMAIN: jwksIssuer.issuer }),
    // The documented fallback when AuthKit has no resource indicator: the client id as an audience.
    extra: loadConfig({ ...env, AUTH_EXTRA_AUDIENCES: EXTRA_AUDIENCE }),
  };
  for (const target of Object.keys(configs) as Array<keyof typeof configs>) {
    const config = configs[target];
    servers[target] = await serveFetchHandler(
      createMcpEndpoint({
        registry,
        config: () => config,
        verifier: ownVerifier(),
        directory: () => lookup,
        auditLine: (record) => records.push(record),
      }),
    );
  }
  app = await startApp({ AUTHKIT_DOMAIN: issuer.issuer, ALLOWED_ORIGINS: 'http://localhost:3000' });
});

afterAll(async () => {
  console.log(
    `[security] hostile matrix: ${tally.requests} requests (${ROWS.length} rows, ${tally.flood} of them random-kid tokens), ${tally.passed} passed`,
  );
  await app?.stop();
  await Promise.all([
    ...Object.values(servers).map((s) => s?.close()),
    issuer?.close(),
    jwksIssuer?.close(),
    attackerJwks?.close(),
  ]);
});

// ---------------------------------------------------------------------------------------------
// Request and answer vocabulary
// ---------------------------------------------------------------------------------------------
const call = (name: string, args: Record<string, unknown> = {}, id: number | string = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});
const json = (value: unknown) => JSON.stringify(value);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const post = (body: unknown, headers: Record<string, string | string[]> = {}, path = '/mcp'): RawRequest => ({
  path,
  headers: { ...MCP_HEADERS, ...headers },
  body: typeof body === 'string' ? body : json(body),
});

const D = {
  malformed: 'The access token is malformed',
  expired: 'The access token expired',
  issuer: 'The access token was not issued by the trusted issuer',
  audience: 'The access token was not issued for this resource',
  algorithm: 'The access token uses an algorithm that is not allowed',
  signature: 'The access token signature is invalid',
  unknownKey: 'The access token was signed with an unknown key',
  claim: 'The access token has an invalid claim',
  missing: 'The access token lacks a required claim',
  notYet: 'The access token is not valid yet',
  lifetime: 'The access token lifetime exceeds the allowed maximum',
  future: 'The access token was issued in the future',
  notAccess: 'The token is not an access token',
} as const;

type Www = string | null | ((prm: string) => string);
const anon = (scope?: string) => (prm: string) =>
  `Bearer resource_metadata="${prm}"${scope ? `, scope="${scope}"` : ''}`;
const invalidToken = (description: string) => (prm: string) =>
  `Bearer error="invalid_token", error_description="${description}", resource_metadata="${prm}"`;
const stepUp = (scope: string) => (prm: string) =>
  `Bearer error="insufficient_scope", scope="${scope}", error_description="The access token lacks a scope this tool requires", resource_metadata="${prm}"`;
const INVALID_REQUEST = 'Bearer error="invalid_request"';

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------
const base = (aud: string) => ({ aud, sub: 'user_bob', org_id: 'org_acme', client_id: 'client_1', scope: 'openid' });
/** A valid token for the in-process endpoints, with overrides (undefined removes a claim). */
const tok = (claims: Record<string, unknown> = {}, options?: SignOptions) =>
  issuer.sign({ ...base(RESOURCE), ...claims }, options);
/** A valid token for the running app. */
const appTok = (claims: Record<string, unknown> = {}, options?: SignOptions) =>
  issuer.sign({ ...base(`${app.url}/mcp`), ...claims }, options);
const claimsNow = (extra: Record<string, unknown> = {}) => {
  const now = nowSeconds();
  return { iss: issuer.issuer, ...base(RESOURCE), iat: now, exp: now + 300, jti: crypto.randomUUID(), ...extra };
};
/**
 * An ID token of the same issuer, shaped like AuthKit's (WorkOS Connect reference: aud = the client id,
 * profile and email claims, a nonce, no jti or sid) and signed with the real key. Overrides; undefined removes.
 */
const idToken = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) => {
  const now = nowSeconds();
  const payload: Record<string, unknown> = {
    iss: issuer.issuer,
    aud: EXTRA_AUDIENCE,
    sub: 'user_bob',
    name: 'Bob Example',
    given_name: 'Bob',
    family_name: 'Example',
    email: 'bob@example.com',
    email_verified: true,
    nonce: 'f39a8e47d2c9b6fa',
    iat: now,
    exp: now + 300,
    ...claims,
  };
  for (const key of Object.keys(payload)) if (payload[key] === undefined) delete payload[key];
  return rs256Raw(issuer.privateKey, { alg: 'RS256', kid: issuer.kid, ...header }, payload);
};
/** One valid token of the JWKS-outage issuer, sent while its key set is down and again once it is back. */
let jwksTokenValue: string | undefined;
const jwksToken = async () => (jwksTokenValue ??= await jwksIssuer.sign({ ...base(RESOURCE) }));
/** The issuer's real RSA key material, imported for another algorithm. */
async function realKeyAs(alg: 'RS384' | 'PS256'): Promise<CryptoKey> {
  return (await importJWK({ ...(await exportJWK(issuer.privateKey)), alg }, alg)) as CryptoKey;
}
/** Replace one segment (0 header, 1 payload, 2 signature) of a compact token. */
const withSegment = (token: string, index: number, value: string) =>
  token
    .split('.')
    .map((s, i) => (i === index ? value : s))
    .join('.');

// ---------------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------------
type Row = {
  name: string;
  on: Target;
  request: () => Promise<RawRequest> | RawRequest;
  status: number;
  www: Www;
  /** Audit records this request must leave (default 1). 0: answered before the route, or by the SDK. */
  records?: number;
  /** The body must be a JSON (JSON-RPC) error. Default: every non-2xx answer. */
  jsonBody?: boolean;
  /** Send this many requests, each built anew (the kid flood). */
  repeat?: number;
  before?: () => void | Promise<void>;
  check?: (response: RawResponse) => void;
  after?: (state: { jwksFetchesBefore: number }) => void;
};

const SSE_NOT_FOUND = (name: string) => (response: RawResponse) => {
  expect(rpcBody(response)).toMatchObject({ error: { code: -32602, message: `Tool ${name} not found` } });
};
const NO_CORS = (response: RawResponse) => expect(header(response, 'access-control-allow-origin')).toBeNull();
const SECURITY_HEADERS_SET = (response: RawResponse) => {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(header(response, name), name).toBe(value);
};
/** 405 from the endpoint itself: JSON-RPC error body, Allow, the security headers. */
const METHOD_NOT_ALLOWED = (response: RawResponse) => {
  expect(header(response, 'allow')).toBe('POST');
  expect(rpcBody(response)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
  SECURITY_HEADERS_SET(response);
};
const SDK_ERROR = (code: number) => (response: RawResponse) =>
  expect(rpcBody(response)).toMatchObject({ error: { code } });
const BATCH_REFUSED = (reason: string) => (response: RawResponse) =>
  expect(rpcBody(response)).toMatchObject({ id: null, error: { code: -32600, data: { reason } } });
/** A batch of `n` tools/call requests for one tool. */
const manyCalls = (n: number, name: string) => Array.from({ length: n }, (_, i) => call(name, {}, i + 1));

const ROWS: Row[] = [
  // --- Authorization header: missing, empty, repeated, other schemes -------------------------
  {
    name: 'no Authorization, scoped tool',
    on: 'endpoint',
    request: () => post(call('notes_read')),
    status: 401,
    www: anon('notes:read'),
  },
  {
    name: 'no Authorization, signed-in tool',
    on: 'endpoint',
    request: () => post(call('member')),
    status: 401,
    www: anon(),
  },
  {
    name: 'empty Authorization value',
    on: 'endpoint',
    request: () => post(call('open'), { authorization: '' }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: '"Bearer" without a token',
    on: 'endpoint',
    request: () => post(call('open'), { authorization: 'Bearer' }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: '"Bearer" and only spaces',
    on: 'endpoint',
    request: () => post(call('open'), { authorization: 'Bearer     ' }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'Basic credentials',
    on: 'endpoint',
    request: () => post(call('open'), { authorization: 'Basic dXNlcjpwYXNz' }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'DPoP scheme with a valid token',
    on: 'endpoint',
    request: async () => post(call('member'), { authorization: `DPoP ${await tok()}` }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: '"Token" scheme with a valid token',
    on: 'endpoint',
    request: async () => post(call('member'), { authorization: `Token ${await tok()}` }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'two tokens in one header',
    on: 'endpoint',
    request: async () => post(call('member'), { authorization: `Bearer ${await tok()}, Bearer ${await tok()}` }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'two Authorization header lines',
    on: 'endpoint',
    request: async () => post(call('member'), { authorization: [`Bearer ${await tok()}`, `Bearer ${await tok()}`] }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'Bearer<TAB>token',
    on: 'endpoint',
    request: async () => post(call('member'), { authorization: `Bearer\t${await tok()}` }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'token followed by a second word',
    on: 'endpoint',
    request: async () => post(call('member'), { authorization: `Bearer ${await tok()} admin` }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'valid token only in X-Authorization / Proxy-Authorization: ignored (anonymous)',
    on: 'endpoint',
    request: async () =>
      post(call('member'), {
        'x-authorization': `Bearer ${await tok()}`,
        'proxy-authorization': `Bearer ${await tok()}`,
      }),
    status: 401,
    www: anon(),
  },

  // --- Tokens anywhere but the Authorization header -------------------------------------------
  {
    name: '?access_token= in the query string',
    on: 'endpoint',
    request: async () => post(call('member'), {}, `/mcp?access_token=${await tok()}`),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: '?access_token= next to a valid header token',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok()), `/mcp?access_token=${await tok()}`),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: '?ACCESS_TOKEN= (another parameter): ignored, anonymous',
    on: 'endpoint',
    request: async () => post(call('member'), {}, `/mcp?ACCESS_TOKEN=${await tok()}`),
    status: 401,
    www: anon(),
  },
  {
    name: 'top-level access_token in the JSON body: anonymous',
    on: 'endpoint',
    request: async () => post({ ...call('notes_read'), access_token: await tok({ scope: 'notes:read' }) }),
    status: 401,
    www: anon('notes:read'),
  },
  {
    name: 'token in params._meta: anonymous',
    on: 'endpoint',
    request: async () => {
      const token = await tok({ scope: 'notes:read' });
      const message = call('notes_read');
      return post({
        ...message,
        params: { ...message.params, _meta: { access_token: token, authorization: `Bearer ${token}` } },
      });
    },
    status: 401,
    www: anon('notes:read'),
  },
  {
    name: 'token in the tool arguments: anonymous',
    on: 'endpoint',
    request: async () => post(call('member', { access_token: await tok() })),
    status: 401,
    www: anon(),
  },
  {
    name: 'token in a cookie: anonymous',
    on: 'endpoint',
    request: async () =>
      post(call('member'), { cookie: `access_token=${await tok()}; authorization=Bearer%20${await tok()}` }),
    status: 401,
    www: anon(),
  },

  // --- Token shapes ---------------------------------------------------------------------------
  {
    name: 'oversized token (8193+ characters)',
    on: 'endpoint',
    request: async () => post(call('open'), bearer(withSegment(await tok(), 1, 'A'.repeat(8200)))),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'not a JWT',
    on: 'endpoint',
    request: () => post(call('open'), bearer('garbage')),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'two segments',
    on: 'endpoint',
    request: async () => post(call('open'), bearer((await tok()).split('.').slice(0, 2).join('.'))),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'encrypted (5-part JWE) token',
    on: 'endpoint',
    request: () =>
      post(
        call('open'),
        bearer(
          `${b64({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'test-key-1' })}.${b64('k')}.${b64('iv')}.${b64('ct')}.${b64('tag')}`,
        ),
      ),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'base64 padding in a segment',
    on: 'endpoint',
    request: async () => post(call('open'), bearer(`${await tok()}==`)),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'alg none, empty signature',
    on: 'endpoint',
    request: () => post(call('member'), bearer(`${b64({ alg: 'none' })}.${b64(claimsNow())}.`)),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'alg none, junk signature',
    on: 'endpoint',
    request: () => post(call('member'), bearer(`${b64({ alg: 'none', kid: 'test-key-1' })}.${b64(claimsNow())}.c2ln`)),
    status: 401,
    www: invalidToken(D.algorithm),
  },
  {
    name: 'alg "None" (case variant)',
    on: 'endpoint',
    request: () => post(call('member'), bearer(`${b64({ alg: 'None' })}.${b64(claimsNow())}.c2ln`)),
    status: 401,
    www: invalidToken(D.algorithm),
  },
  {
    name: 'HS256 signed with the public key (PEM) as the HMAC secret',
    on: 'endpoint',
    request: async () => {
      const pem = await exportSPKI((await importJWK(issuer.publicJwk, 'RS256')) as CryptoKey);
      return post(
        call('member'),
        bearer(await jwt(claimsNow(), { alg: 'HS256', kid: issuer.kid }, new TextEncoder().encode(pem))),
      );
    },
    status: 401,
    www: invalidToken(D.algorithm),
  },
  {
    name: 'RS384 with the real key material and kid',
    on: 'endpoint',
    request: async () =>
      post(call('member'), bearer(await jwt(claimsNow(), { alg: 'RS384', kid: issuer.kid }, await realKeyAs('RS384')))),
    status: 401,
    www: invalidToken(D.algorithm),
  },
  {
    name: 'PS256 with the real key material and kid',
    on: 'endpoint',
    request: async () =>
      post(call('member'), bearer(await jwt(claimsNow(), { alg: 'PS256', kid: issuer.kid }, await realKeyAs('PS256')))),
    status: 401,
    www: invalidToken(D.algorithm),
  },
  {
    name: 'ES256 with the real kid',
    on: 'endpoint',
    request: async () =>
      post(
        call('member'),
        bearer(await jwt(claimsNow(), { alg: 'ES256', kid: issuer.kid }, (await generateKeyPair('ES256')).privateKey)),
      ),
    status: 401,
    www: invalidToken(D.algorithm),
  },
  {
    name: 'self-signed RS256 key with the real kid',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { key: attacker.privateKey }))),
    status: 401,
    www: invalidToken(D.signature),
  },
  {
    name: 'jku pointing at an attacker JWKS (not fetched)',
    on: 'endpoint',
    request: async () =>
      post(
        call('member'),
        bearer(
          await tok(
            {},
            { key: attacker.privateKey, kid: 'attacker-1', header: { jku: `${attackerJwks.url}/jwks.json` } },
          ),
        ),
      ),
    status: 401,
    www: invalidToken(D.unknownKey),
    check: () => expect(attackerHits).toBe(0),
  },
  {
    name: 'x5u pointing at an attacker URL (not fetched)',
    on: 'endpoint',
    request: async () =>
      post(
        call('member'),
        bearer(
          await tok(
            {},
            { key: attacker.privateKey, kid: 'attacker-1', header: { x5u: `${attackerJwks.url}/cert.pem` } },
          ),
        ),
      ),
    status: 401,
    www: invalidToken(D.unknownKey),
    check: () => expect(attackerHits).toBe(0),
  },
  {
    name: 'embedded attacker jwk with the real kid',
    on: 'endpoint',
    request: async () =>
      post(call('member'), bearer(await tok({}, { key: attacker.privateKey, header: { jwk: attacker.publicJwk } }))),
    status: 401,
    www: invalidToken(D.signature),
  },
  {
    name: 'embedded attacker jwk and no kid',
    on: 'endpoint',
    request: async () => {
      const { kid: _kid, ...jwkWithoutKid } = attacker.publicJwk;
      return post(
        call('member'),
        bearer(await rs256Raw(attacker.privateKey, { alg: 'RS256', jwk: jwkWithoutKid }, claimsNow())),
      );
    },
    status: 401,
    www: invalidToken(D.signature),
  },
  {
    name: 'unknown kid',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { key: attacker.privateKey, kid: 'rotated-away' }))),
    status: 401,
    www: invalidToken(D.unknownKey),
  },
  {
    name: 'kid flood: 50 tokens with random kids, JWKS fetched at most twice',
    on: 'endpoint',
    repeat: 50,
    request: async () =>
      post(call('member'), bearer(await tok({}, { key: attacker.privateKey, kid: crypto.randomUUID() }))),
    status: 401,
    www: invalidToken(D.unknownKey),
    after: ({ jwksFetchesBefore }) => expect(issuer.jwksFetches() - jwksFetchesBefore).toBeLessThanOrEqual(2),
  },
  {
    name: 'kid with quotes, backslash and CR/LF (nothing reaches a header)',
    on: 'endpoint',
    request: async () =>
      post(call('member'), bearer(await tok({}, { key: attacker.privateKey, kid: 'k"\\\r\nSet-Cookie: pwned=1' }))),
    status: 401,
    www: invalidToken(D.unknownKey),
    check: (response) => expect(header(response, 'set-cookie')).toBeNull(),
  },
  {
    name: 'unknown crit header parameter',
    on: 'endpoint',
    request: async () =>
      post(
        call('member'),
        bearer(
          await rs256Raw(
            issuer.privateKey,
            { alg: 'RS256', kid: issuer.kid, crit: ['x-must'], 'x-must': 1 },
            claimsNow(),
          ),
        ),
      ),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'payload is not JSON',
    on: 'endpoint',
    request: async () =>
      post(call('member'), bearer(await rs256Raw(issuer.privateKey, { alg: 'RS256', kid: issuer.kid }, 'not json'))),
    status: 401,
    www: invalidToken(D.malformed),
  },
  {
    name: 'payload swapped for an admin one, signature kept',
    on: 'endpoint',
    request: async () =>
      post(
        call('notes_read'),
        bearer(withSegment(await tok(), 1, b64(claimsNow({ sub: 'user_admin', scope: 'notes:read notes:write' })))),
      ),
    status: 401,
    www: invalidToken(D.signature),
  },

  // --- Issuer ---------------------------------------------------------------------------------
  {
    name: 'foreign issuer',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iss: 'https://evil.authkit.app' }))),
    status: 401,
    www: invalidToken(D.issuer),
  },
  {
    name: 'issuer with a trailing slash',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iss: `${issuer.issuer}/` }))),
    status: 401,
    www: invalidToken(D.issuer),
  },
  {
    name: 'issuer in upper case',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iss: issuer.issuer.toUpperCase() }))),
    status: 401,
    www: invalidToken(D.issuer),
  },
  {
    name: 'issuer over https instead of http',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iss: issuer.issuer.replace('http:', 'https:') }))),
    status: 401,
    www: invalidToken(D.issuer),
  },
  {
    name: 'issuer with a path',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iss: `${issuer.issuer}/oauth2` }))),
    status: 401,
    www: invalidToken(D.issuer),
  },
  {
    name: 'issuer as an array',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iss: [issuer.issuer] }))),
    status: 401,
    www: invalidToken(D.issuer),
  },
  {
    name: 'issuer with quotes, backslash and CR/LF: the description stays fixed',
    on: 'endpoint',
    request: async () =>
      post(call('member'), bearer(await tok({ iss: 'x", error_description="pwned\\"\r\nSet-Cookie: a=b' }))),
    status: 401,
    www: invalidToken(D.issuer),
    check: (response) => expect(header(response, 'set-cookie')).toBeNull(),
  },
  {
    name: 'no issuer',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iss: undefined }))),
    status: 401,
    www: invalidToken(D.missing),
  },

  // --- Audience -------------------------------------------------------------------------------
  {
    name: 'audience with a trailing slash',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: `${RESOURCE}/` }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'audience on another port',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: 'https://mcp.example.test:8443/mcp' }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'audience over http instead of https',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: 'http://mcp.example.test/mcp' }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'audience = origin only (path prefix)',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: 'https://mcp.example.test' }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'audience with a longer path',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: `${RESOURCE}/admin` }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'audience with an upper-case host',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: 'https://MCP.example.test/mcp' }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'token for another resource',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: 'https://other-mcp.example.test/mcp' }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'audience = an OAuth client id',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: 'client_01HXYZ' }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'audience array without this resource',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: ['https://a.example/mcp', `${RESOURCE}/`] }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'no audience',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ aud: undefined }))),
    status: 401,
    www: invalidToken(D.missing),
  },

  // --- Time and required claims ---------------------------------------------------------------
  {
    name: 'no exp',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { omit: ['exp'] }))),
    status: 401,
    www: invalidToken(D.missing),
  },
  {
    name: 'exp in the past (beyond the 30 s tolerance)',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { expiresIn: -60 }))),
    status: 401,
    www: invalidToken(D.expired),
  },
  {
    name: 'exp as a string',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ exp: String(nowSeconds() + 300) }))),
    status: 401,
    www: invalidToken(D.claim),
  },
  {
    name: 'exp = 1e400 (Infinity after JSON.parse)',
    on: 'endpoint',
    request: async () =>
      post(
        call('member'),
        bearer(
          await rs256Raw(
            issuer.privateKey,
            { alg: 'RS256', kid: issuer.kid },
            json(claimsNow()).replace(/"exp":\d+/, '"exp":1e400'),
          ),
        ),
      ),
    status: 401,
    www: invalidToken(D.claim),
  },
  {
    name: 'nbf an hour in the future',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ nbf: nowSeconds() + 3600 }))),
    status: 401,
    www: invalidToken(D.notYet),
  },
  {
    name: 'no iat',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { omit: ['iat'] }))),
    status: 401,
    www: invalidToken(D.missing),
  },
  {
    name: 'iat as a string',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iat: 'yesterday' }))),
    status: 401,
    www: invalidToken(D.claim),
  },
  {
    name: 'no sub',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { omit: ['sub'] }))),
    status: 401,
    www: invalidToken(D.missing),
  },
  {
    name: 'empty sub',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ sub: '' }))),
    status: 401,
    www: invalidToken(D.claim),
  },
  {
    name: 'lifetime of one year',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { expiresIn: 365 * 86_400 }))),
    status: 401,
    www: invalidToken(D.lifetime),
  },
  {
    name: 'lifetime of 24 h + 1 s',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { expiresIn: 86_401 }))),
    status: 401,
    www: invalidToken(D.lifetime),
  },
  {
    name: 'issued a year ago, still unexpired',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iat: nowSeconds() - 365 * 86_400 }))),
    status: 401,
    www: invalidToken(D.lifetime),
  },
  {
    name: 'iat ten years in the future',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iat: nowSeconds() + 10 * 365 * 86_400 }))),
    status: 401,
    www: invalidToken(D.future),
  },
  {
    name: 'iat an hour in the future, exp two hours ahead',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ iat: nowSeconds() + 3600 }, { expiresIn: 7200 }))),
    status: 401,
    www: invalidToken(D.future),
  },
  {
    name: 'nbf as a string',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ nbf: String(nowSeconds()) }))),
    status: 401,
    www: invalidToken(D.claim),
  },
  {
    name: 'nbf a minute in the future (beyond the 30 s tolerance)',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ nbf: nowSeconds() + 60 }))),
    status: 401,
    www: invalidToken(D.notYet),
  },
  {
    name: 'no jti (RFC 9068 requires it; AuthKit ID tokens have none)',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ jti: undefined }))),
    status: 401,
    www: invalidToken(D.missing),
  },
  {
    name: 'scope as an array',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: ['notes:read'] }))),
    status: 401,
    www: invalidToken(D.claim),
  },

  // --- ID tokens and other JWTs of the same issuer are not access tokens ------------------------
  {
    name: 'extra audience: an ID token (aud = client id, nonce, profile claims, no jti, no typ)',
    on: 'extra',
    request: async () => post(call('member'), bearer(await idToken())),
    status: 401,
    www: invalidToken(D.missing), // jose's required-claim check (jti) speaks first
  },
  {
    name: 'extra audience: ID token with jti and typ JWT but a nonce',
    on: 'extra',
    request: async () => post(call('member'), bearer(await idToken({ jti: crypto.randomUUID() }, { typ: 'JWT' }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'extra audience: ID token with jti, without nonce, with at_hash',
    on: 'extra',
    request: async () =>
      post(
        call('member'),
        bearer(await idToken({ jti: crypto.randomUUID(), nonce: undefined, at_hash: 'x3bKQW0qVhZqLCDmDS1pKw' })),
      ),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'extra audience: ID token with jti, no nonce, no hashes, but email claims',
    on: 'extra',
    request: async () => post(call('member'), bearer(await idToken({ jti: crypto.randomUUID(), nonce: undefined }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'extra audience: ID token with only the registered claims (no jti)',
    on: 'extra',
    request: async () =>
      post(
        call('member'),
        bearer(
          await idToken({
            nonce: undefined,
            name: undefined,
            given_name: undefined,
            family_name: undefined,
            email: undefined,
            email_verified: undefined,
          }),
        ),
      ),
    status: 401,
    www: invalidToken(D.missing),
  },
  {
    name: 'resource audience with a nonce',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ nonce: 'n-0S6_WzA2Mj' }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'resource audience with at_hash',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ at_hash: 'x3bKQW0qVhZqLCDmDS1pKw' }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'resource audience with c_hash',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({ c_hash: 'LDktKdoQak3Pk0cnXxCltA' }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'typ logout+jwt',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { header: { typ: 'logout+jwt' } }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'typ secevent+jwt',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { header: { typ: 'secevent+jwt' } }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },
  {
    name: 'typ dpop+jwt',
    on: 'endpoint',
    request: async () => post(call('member'), bearer(await tok({}, { header: { typ: 'dpop+jwt' } }))),
    status: 401,
    www: invalidToken(D.notAccess),
  },

  // --- Look-alike scopes (a valid token; exact comparison) -------------------------------------
  {
    name: 'scope NOTES:READ',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: 'NOTES:READ' }))),
    status: 403,
    www: stepUp('NOTES:READ notes:read'),
  },
  {
    name: 'scope notes:readx',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: 'notes:readx' }))),
    status: 403,
    www: stepUp('notes:read notes:readx'),
  },
  {
    name: 'scope notes:* (no wildcards)',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: 'notes:*' }))),
    status: 403,
    www: stepUp('notes:* notes:read'),
  },
  // Cyrillic а (U+0430): not a scope-token, so it is dropped from the challenge instead of echoed.
  {
    name: 'scope with a Cyrillic homoglyph',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: 'notes:re\u0430d' }))),
    status: 403,
    www: stepUp('notes:read'),
  },
  {
    name: 'scope notes:read<TAB>',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: 'notes:read\t' }))),
    status: 403,
    www: stepUp('notes:read'),
  },
  {
    name: 'scope notes:read<NBSP>',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: 'notes:read\u00a0' }))),
    status: 403,
    www: stepUp('notes:read'),
  },
  {
    name: 'granted scopes with CR/LF, quotes and backslashes never reach the header',
    on: 'endpoint',
    request: async () => post(call('notes_read'), bearer(await tok({ scope: 'openid\r\nSet-Cookie:x a"b c\\d' }))),
    status: 403,
    www: stepUp('notes:read'),
    check: (response) => expect(header(response, 'set-cookie')).toBeNull(),
  },
  {
    name: 'notes:read only, for a tool needing notes:write too',
    on: 'endpoint',
    request: async () => post(call('notes_write'), bearer(await tok({ scope: 'notes:read' }))),
    status: 403,
    www: stepUp('notes:read notes:write'),
  },

  // --- Organizations and roles: arguments never choose them -----------------------------------
  {
    name: 'anonymous, org_id smuggled in arguments',
    on: 'endpoint',
    request: () => post(call('org_echo', { org_id: 'org_acme', organizationId: 'org_acme' })),
    status: 401,
    www: anon('notes:read'),
  },
  {
    name: 'token without org_id, org smuggled in arguments and _meta: hidden tool',
    on: 'endpoint',
    request: async () => {
      const message = call('org_echo', { org_id: 'org_acme', organizationId: 'org_acme' });
      return post(
        { ...message, params: { ...message.params, _meta: { org_id: 'org_acme' } } },
        bearer(await tok({ org_id: undefined, scope: 'notes:read' })),
      );
    },
    status: 200,
    www: null,
    check: SSE_NOT_FOUND('org_echo'),
  },
  {
    name: 'role tool, member (role smuggled in arguments)',
    on: 'endpoint',
    request: async () => post(call('admin_only', { role: 'admin', roles: ['admin'] }), bearer(await tok())),
    status: 200,
    www: null,
    check: SSE_NOT_FOUND('admin_only'),
  },
  {
    name: 'role tool, membership lookup down: 503',
    on: 'endpoint',
    request: async () => post(call('admin_only'), bearer(await tok({ sub: 'user_down' }))),
    status: 503,
    www: null,
    check: (r) => expect(header(r, 'retry-after')).toBe('10'),
  },

  // --- Forged Host / X-Forwarded-Host: resource_metadata and the audience come from configuration --
  {
    name: 'forged Host and X-Forwarded-Host, anonymous',
    on: 'endpoint',
    request: () =>
      post(call('member'), { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }),
    status: 401,
    www: anon(),
  },
  {
    name: "forged Host and a token for that host's /mcp",
    on: 'endpoint',
    request: async () =>
      post(call('member'), {
        host: 'evil.example',
        'x-forwarded-host': 'evil.example',
        ...bearer(await tok({ aud: 'http://evil.example/mcp' })),
      }),
    status: 401,
    www: invalidToken(D.audience),
  },

  // --- Invalid token on a public tool or a non-tool request: never anonymous ------------------
  {
    name: 'expired token on the public tool',
    on: 'endpoint',
    request: async () => post(call('open'), bearer(await tok({}, { expiresIn: -300 }))),
    status: 401,
    www: invalidToken(D.expired),
  },
  {
    name: 'foreign-audience token on the public tool',
    on: 'endpoint',
    request: async () => post(call('open'), bearer(await tok({ aud: 'https://other-mcp.example.test/mcp' }))),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'invalid token on tools/list',
    on: 'endpoint',
    request: () => post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, bearer('a.b.c')),
    status: 401,
    www: invalidToken(D.malformed),
  },

  // --- Batches: every element gated --------------------------------------------------------------
  {
    name: 'batch [public, scoped], MCP-Protocol-Version 2025-03-26',
    on: 'endpoint',
    request: () => post([call('open', {}, 1), call('notes_read', {}, 2)], { 'mcp-protocol-version': '2025-03-26' }),
    status: 401,
    www: anon('notes:read'),
    records: 2,
  },
  {
    name: 'batch [public, signed-in], no MCP-Protocol-Version',
    on: 'endpoint',
    request: () => ({
      headers: { 'content-type': 'application/json', accept: MCP_HEADERS.accept },
      body: json([call('open', {}, 1), call('member', {}, 2)]),
    }),
    status: 401,
    www: anon(),
    records: 2,
  },
  // Batching left MCP in 2025-06-18. The SDK still executes batches of up to 100 under 2025-06-18 and
  // 2025-11-25, so the endpoint refuses them itself, before the gate: one record, whatever the length.
  {
    name: 'batch [public, signed-in], MCP-Protocol-Version 2025-11-25: refused before the gate',
    on: 'endpoint',
    request: () => post([call('open', {}, 1), call('member', {}, 2)]),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_not_supported'),
  },
  {
    name: 'batch of two public calls, 2025-06-18: refused, nothing runs',
    on: 'endpoint',
    request: () => post([call('open', {}, 1), call('open', {}, 2)], { 'mcp-protocol-version': '2025-06-18' }),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_not_supported'),
  },
  {
    name: 'batch of two public calls, 2026-07-28: refused before the gate',
    on: 'endpoint',
    request: () => post([call('open', {}, 1), call('open', {}, 2)], { 'mcp-protocol-version': '2026-07-28' }),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_not_supported'),
  },
  {
    name: 'batch under an unknown revision: refused as a batch',
    on: 'endpoint',
    request: () => post([call('open', {}, 1)], { 'mcp-protocol-version': '2099-01-01' }),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_not_supported'),
  },
  {
    name: 'batch of 2,000 private calls (about 180 KB), 2025-11-25: one record',
    on: 'endpoint',
    request: () => post(manyCalls(2_000, 'member')),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_not_supported'),
  },
  {
    name: 'batch of 2,000 calls with a valid token, 2025-11-25: one record',
    on: 'endpoint',
    request: async () => post(manyCalls(2_000, 'open'), bearer(await tok())),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_not_supported'),
  },
  {
    name: 'batch of 101 private calls, 2025-03-26 (past the SDK limit): one record',
    on: 'endpoint',
    request: () => post(manyCalls(101, 'member'), { 'mcp-protocol-version': '2025-03-26' }),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_too_large'),
  },
  {
    name: 'batch of 150 public calls, no MCP-Protocol-Version: one record',
    on: 'endpoint',
    request: () => ({
      headers: { 'content-type': 'application/json', accept: MCP_HEADERS.accept },
      body: json(manyCalls(150, 'open')),
    }),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_too_large'),
  },
  {
    name: 'batch of 100 private calls, 2025-03-26 (at the SDK limit): one record per call',
    on: 'endpoint',
    request: () => post(manyCalls(100, 'member'), { 'mcp-protocol-version': '2025-03-26' }),
    status: 401,
    www: anon(),
    records: 100,
  },
  {
    name: 'batch with a token lacking one scope',
    on: 'endpoint',
    request: async () =>
      post([call('open', {}, 1), call('notes_read', {}, 2)], {
        ...bearer(await tok()),
        'mcp-protocol-version': '2025-03-26',
      }),
    status: 403,
    www: stepUp('notes:read openid'),
    records: 2,
  },
  {
    name: 'batch hiding the private call in a notification',
    on: 'endpoint',
    request: () =>
      post([call('open', {}, 1), { jsonrpc: '2.0', method: 'tools/call', params: { name: 'member', arguments: {} } }], {
        'mcp-protocol-version': '2025-03-26',
      }),
    status: 401,
    www: anon(),
    records: 2,
  },
  {
    name: 'nested batch [[private call]]',
    on: 'endpoint',
    request: () => post([[call('member')]], { 'mcp-protocol-version': '2025-03-26' }),
    status: 400,
    www: null,
    check: SDK_ERROR(-32600),
  },
  {
    name: 'duplicate "name" keys: public first, private last',
    on: 'endpoint',
    request: () =>
      post('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"open","name":"member","arguments":{}}}'),
    status: 401,
    www: anon(),
  },
  {
    name: 'tool name written with \\u escapes',
    on: 'endpoint',
    request: () =>
      post('{"jsonrpc":"2.0","id":1,"method":"tools\\/call","params":{"name":"m\\u0065mber","arguments":{}}}'),
    status: 401,
    www: anon(),
  },
  {
    name: 'UTF-8 BOM before the JSON',
    on: 'endpoint',
    request: () => post(`\uFEFF${json(call('member'))}`),
    status: 401,
    www: anon(),
  },
  {
    name: '"jsonrpc": "1.0" private call',
    on: 'endpoint',
    request: () => post({ ...call('member'), jsonrpc: '1.0' }),
    status: 401,
    www: anon(),
  },
  {
    name: 'private call with an object id',
    on: 'endpoint',
    request: () => post({ ...call('member'), id: { $gt: 0 } }),
    status: 401,
    www: anon(),
  },
  {
    name: 'private call as a notification (no id)',
    on: 'endpoint',
    request: () => post({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'member', arguments: {} } }),
    status: 401,
    www: anon(),
  },
  {
    name: '__proto__ smuggling the tool name: refused by the SDK, one record',
    on: 'endpoint',
    request: () =>
      post('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"__proto__":{"name":"member"},"arguments":{}}}'),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },

  // --- Shapes the SDK refuses after the gate: each tools/call still leaves exactly one record -----
  {
    name: '"arguments": null on an allowed call',
    on: 'endpoint',
    request: () => post({ ...call('open'), params: { name: 'open', arguments: null } }),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
  {
    name: '"arguments": null with a valid token on a signed-in tool',
    on: 'endpoint',
    request: async () => post({ ...call('member'), params: { name: 'member', arguments: null } }, bearer(await tok())),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
  {
    name: '"arguments" as an array',
    on: 'endpoint',
    request: () => post({ ...call('open'), params: { name: 'open', arguments: [] } }),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
  {
    name: '"arguments" as a number',
    on: 'endpoint',
    request: () => post({ ...call('open'), params: { name: 'open', arguments: 5 } }),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
  {
    name: '"arguments" as a string',
    on: 'endpoint',
    request: () => post({ ...call('open'), params: { name: 'open', arguments: '{}' } }),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
  // The SDK answers a schema failure as a tool error (isError), never reaching the wrapper.
  {
    name: 'arguments failing the input schema',
    on: 'endpoint',
    request: () => post(call('open', { message: 5 })),
    status: 200,
    www: null,
    check: (r) => expect(rpcBody(r)).toMatchObject({ result: { isError: true } }),
  },
  // The SDK does not take these for JSON-RPC requests at all: a 400, and still one record.
  {
    name: '"params": null',
    on: 'endpoint',
    request: () => post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: null }),
    status: 400,
    www: null,
    check: SDK_ERROR(-32600),
  },
  {
    name: 'no "params"',
    on: 'endpoint',
    request: () => post({ jsonrpc: '2.0', id: 1, method: 'tools/call' }),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
  {
    name: '"params" as an array',
    on: 'endpoint',
    request: () => post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: ['open'] }),
    status: 400,
    www: null,
    check: SDK_ERROR(-32600),
  },
  {
    name: 'numeric tool name',
    on: 'endpoint',
    request: () => post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 42, arguments: {} } }),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
  {
    name: 'unknown tool',
    on: 'endpoint',
    request: () => post(call('no_such_tool')),
    status: 200,
    www: null,
    check: SSE_NOT_FOUND('no_such_tool'),
  },
  {
    name: 'batch [null arguments, valid], 2025-03-26: the valid call runs, two records',
    on: 'endpoint',
    request: () =>
      post([{ ...call('open', {}, 1), params: { name: 'open', arguments: null } }, call('member', {}, 2)], {
        'mcp-protocol-version': '2025-03-26',
      }),
    status: 401,
    www: anon(),
    records: 2,
  },

  // --- Protocol version, malformed bodies --------------------------------------------------------
  {
    name: 'unsupported MCP-Protocol-Version on the public tool',
    on: 'endpoint',
    request: () => post(call('open'), { 'mcp-protocol-version': '1999-01-01' }),
    status: 400,
    www: null,
  },
  {
    name: 'unsupported MCP-Protocol-Version on a private tool: authentication first',
    on: 'endpoint',
    request: () => post(call('member'), { 'mcp-protocol-version': '2099-12-31' }),
    status: 401,
    www: anon(),
  },
  {
    name: 'MCP-Protocol-Version with quotes',
    on: 'endpoint',
    request: () => post(call('open'), { 'mcp-protocol-version': '2025-11-25", x="1' }),
    status: 400,
    www: null,
  },
  {
    name: 'malformed JSON',
    on: 'endpoint',
    request: () => post('{"jsonrpc":"2.0","id":1,"method":'),
    status: 400,
    www: null,
    check: SDK_ERROR(-32700),
  },
  { name: 'JSON that is not JSON-RPC', on: 'endpoint', request: () => post({ foo: 1 }), status: 400, www: null },
  { name: 'a bare number', on: 'endpoint', request: () => post('42'), status: 400, www: null },
  { name: 'an empty batch', on: 'endpoint', request: () => post('[]'), status: 400, www: null },
  { name: 'an empty body', on: 'endpoint', request: () => post(''), status: 400, www: null },
  {
    name: 'text/plain body with a private call: authentication first',
    on: 'endpoint',
    request: () => post(call('member'), { 'content-type': 'text/plain' }),
    status: 401,
    www: anon(),
  },
  {
    name: 'tool name with quotes and CR/LF',
    on: 'endpoint',
    request: () => post(call('x", error="evil\r\nSet-Cookie: a=b')),
    status: 200,
    www: null,
    check: SSE_NOT_FOUND('x", error="evil\r\nSet-Cookie: a=b'),
  },

  // --- Other configurations ---------------------------------------------------------------------
  {
    name: 'MCP_AUTH_REQUIRED: anonymous call to the public tool',
    on: 'required',
    request: () => post(call('open')),
    status: 401,
    www: anon(),
  },
  {
    name: 'MCP_AUTH_REQUIRED: anonymous initialize',
    on: 'required',
    request: () =>
      post({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    status: 401,
    www: anon(),
  },
  {
    name: 'ALLOWED_CLIENT_IDS: unapproved client on the public tool',
    on: 'clients',
    request: async () => post(call('open'), bearer(await tok({ client_id: 'client_rogue' }))),
    status: 403,
    www: null,
  },
  {
    name: 'ALLOWED_CLIENT_IDS: no client_id claim',
    on: 'clients',
    request: async () => post(call('open'), bearer(await tok({ client_id: undefined }))),
    status: 403,
    www: null,
  },

  // --- JWKS unavailable: fail closed ----------------------------------------------------------
  {
    name: 'JWKS down: 503 with Retry-After',
    on: 'jwks',
    before: () => jwksIssuer.setMode('down'),
    request: async () => post(call('open'), bearer(await jwksToken())),
    status: 503,
    www: null,
    check: (r) => expect(header(r, 'retry-after')).toBe('10'),
  },
  {
    name: 'JWKS answers garbage: 503',
    on: 'jwks',
    before: () => jwksIssuer.setMode('garbage'),
    request: async () => post(call('open'), bearer(await jwksToken())),
    status: 503,
    www: null,
    check: (r) => expect(header(r, 'retry-after')).toBe('10'),
  },
  {
    name: 'JWKS slower than the 5 s timeout: 503',
    on: 'jwks',
    before: () => jwksIssuer.setMode('slow'),
    request: async () => post(call('member'), bearer(await jwksToken())),
    status: 503,
    www: null,
    check: (r) => {
      expect(header(r, 'retry-after')).toBe('10');
      expect(r.ms).toBeLessThan(6_500);
    },
  },

  // --- The built app: middleware, Next's routing, Node's HTTP parser -----------------------------
  {
    name: 'app: hostile Origin',
    on: 'app',
    request: () => post(call('ping'), { origin: 'https://evil.example' }),
    status: 403,
    www: null,
    check: NO_CORS,
  },
  {
    name: 'app: Origin "null"',
    on: 'app',
    request: () => post(call('ping'), { origin: 'null' }),
    status: 403,
    www: null,
    check: NO_CORS,
  },
  {
    name: 'app: allowed Origin with a trailing slash',
    on: 'app',
    request: () => post(call('ping'), { origin: 'http://localhost:3000/' }),
    status: 403,
    www: null,
    check: NO_CORS,
  },
  {
    name: 'app: Origin http://localhost:3000.evil.com',
    on: 'app',
    request: () => post(call('ping'), { origin: 'http://localhost:3000.evil.com' }),
    status: 403,
    www: null,
    check: NO_CORS,
  },
  {
    name: 'app: Origin with https instead of http',
    on: 'app',
    request: () => post(call('ping'), { origin: 'https://localhost:3000' }),
    status: 403,
    www: null,
    check: NO_CORS,
  },
  {
    name: 'app: Origin with another port',
    on: 'app',
    request: () => post(call('ping'), { origin: 'http://localhost:30000' }),
    status: 403,
    www: null,
    check: NO_CORS,
  },
  {
    name: 'app: two Origin headers, allowed first',
    on: 'app',
    request: () => post(call('ping'), { origin: ['http://localhost:3000', 'https://evil.example'] }),
    status: 403,
    www: null,
    check: NO_CORS,
  },
  {
    name: 'app: preflight from a hostile Origin',
    on: 'app',
    request: () => ({
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    }),
    status: 403,
    www: null,
    check: NO_CORS,
  },
  {
    name: 'app: x-middleware-subrequest cannot skip the middleware (CVE-2025-29927 shape)',
    on: 'app',
    request: () =>
      post(call('ping'), {
        origin: 'https://evil.example',
        'x-middleware-subrequest': 'middleware:middleware:middleware:middleware:middleware',
      }),
    status: 403,
    www: null,
  },
  {
    name: 'app: percent-encoded path /%6Dcp with a hostile Origin reaches no route',
    on: 'app',
    request: () => post(call('ping'), { origin: 'https://evil.example' }, '/%6Dcp'),
    status: 404,
    www: null,
    records: 0,
    jsonBody: false,
  },
  {
    name: 'app: /mcp/ with a hostile Origin is redirected, not served',
    on: 'app',
    request: () => post(call('ping'), { origin: 'https://evil.example' }, '/mcp/'),
    status: 308,
    www: null,
    records: 0,
    jsonBody: false,
  },
  {
    name: 'app: forged Host, anonymous',
    on: 'app',
    request: () => post(call('whoami'), { host: 'evil.example' }),
    status: 401,
    www: anon(),
  },
  {
    name: 'app: forged X-Forwarded-Host/Proto and Forwarded, anonymous',
    on: 'app',
    request: () =>
      post(call('whoami'), {
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        forwarded: 'for=1.2.3.4;host=evil.example;proto=https',
      }),
    status: 401,
    www: anon(),
  },
  {
    name: "app: forged Host and a token for that host's /mcp",
    on: 'app',
    request: async () =>
      post(call('whoami'), { host: 'evil.example', ...bearer(await appTok({ aud: 'http://evil.example/mcp' })) }),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: "app: forged X-Forwarded-Host and a token for that host's /mcp",
    on: 'app',
    request: async () =>
      post(call('whoami'), {
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
        ...bearer(await appTok({ aud: 'https://evil.example/mcp' })),
      }),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: "app: forged Forwarded host and a token for that host's /mcp",
    on: 'app',
    request: async () =>
      post(call('whoami'), {
        forwarded: 'host=evil.example;proto=https',
        ...bearer(await appTok({ aud: 'https://evil.example/mcp' })),
      }),
    status: 401,
    www: invalidToken(D.audience),
  },
  {
    name: 'app: body of 1 MiB + 1 byte with Content-Length',
    on: 'app',
    request: () =>
      post(
        Buffer.concat([
          Buffer.from(json(call('ping'))),
          Buffer.alloc(1024 * 1024 + 1 - json(call('ping')).length, 0x20),
        ]).toString(),
      ),
    status: 413,
    www: null,
  },
  {
    name: 'app: chunked body of 1.2 MB without Content-Length',
    on: 'app',
    request: () => ({ ...post(json({ ...call('ping'), pad: 'x'.repeat(1_200_000) })), chunked: true }),
    status: 413,
    www: null,
  },
  {
    name: 'app: unsupported MCP-Protocol-Version',
    on: 'app',
    request: () => post(call('ping'), { 'mcp-protocol-version': '1999-01-01' }),
    status: 400,
    www: null,
  },
  {
    name: 'app: malformed JSON',
    on: 'app',
    request: () => post('{"jsonrpc":"2.0",'),
    status: 400,
    www: null,
    check: SDK_ERROR(-32700),
  },
  {
    name: 'app: malformed JSON-RPC',
    on: 'app',
    request: () => post({ jsonrpc: '2.0', id: 1, params: { name: 'ping' } }),
    status: 400,
    www: null,
  },
  {
    name: 'app: gzip-encoded private call is not decompressed behind the gate',
    on: 'app',
    request: () => ({ headers: { ...MCP_HEADERS, 'content-encoding': 'gzip' }, body: gzipSync(json(call('whoami'))) }),
    status: 400,
    www: null,
    check: SDK_ERROR(-32700),
  },
  {
    name: 'app: UTF-16 private call (gate and SDK both read UTF-8)',
    on: 'app',
    request: () => ({
      headers: { ...MCP_HEADERS, 'content-type': 'application/json; charset=utf-16le' },
      body: Buffer.from(`\uFEFF${json(call('whoami'))}`, 'utf16le'),
    }),
    status: 400,
    www: null,
    check: SDK_ERROR(-32700),
  },
  {
    name: 'app: text/plain body',
    on: 'app',
    request: () => post(call('ping'), { 'content-type': 'text/plain' }),
    status: 415,
    www: null,
  },
  {
    name: 'app: GET',
    on: 'app',
    request: () => ({ method: 'GET', headers: { accept: 'text/event-stream' } }),
    status: 405,
    www: null,
    records: 0,
    check: METHOD_NOT_ALLOWED,
  },
  {
    name: 'app: DELETE',
    on: 'app',
    request: () => ({ method: 'DELETE', headers: { 'mcp-session-id': 'abc' } }),
    status: 405,
    www: null,
    records: 0,
    check: METHOD_NOT_ALLOWED,
  },
  {
    name: 'app: PUT',
    on: 'app',
    request: () => ({ ...post(call('ping')), method: 'PUT' }),
    status: 405,
    www: null,
    records: 0,
    check: METHOD_NOT_ALLOWED,
  },
  {
    name: 'app: PATCH',
    on: 'app',
    request: () => ({ ...post(call('ping')), method: 'PATCH' }),
    status: 405,
    www: null,
    records: 0,
    check: METHOD_NOT_ALLOWED,
  },
  {
    name: 'app: PROPFIND',
    on: 'app',
    request: () => ({ method: 'PROPFIND', headers: { depth: '1' } }),
    status: 405,
    www: null,
    records: 0,
    check: METHOD_NOT_ALLOWED,
  },
  {
    name: 'app: QUERY with a body',
    on: 'app',
    request: () => ({ ...post(call('ping'), { 'content-type': 'text/plain' }), method: 'QUERY' }),
    status: 405,
    www: null,
    records: 0,
    check: METHOD_NOT_ALLOWED,
  },
  // Documented exception (docs/HTTP-ANSWERS.md, SECURITY.md): a JSON Content-Type skips the
  // middleware (its matcher cannot select by method), and Next answers a method the route does not
  // export with an empty 400 before any code of ours runs. Refused, nothing recorded, nothing run.
  ...(['QUERY', 'PROPFIND', 'FOO'] as const).map(
    (method): Row => ({
      name: `app: ${method} with a JSON Content-Type: Next's empty 400 (documented exception)`,
      on: 'app',
      request: () => ({ ...post(call('ping'), { origin: 'https://evil.example' }), method }),
      status: 400,
      www: null,
      records: 0,
      jsonBody: false,
      check: (r) => expect(r.text).toBe(''),
    }),
  ),
  // JSON requests reach the route without the middleware: the route's front door answers alike.
  {
    name: 'app: GET with a JSON Content-Type (the route answers)',
    on: 'app',
    request: () => ({ ...post(call('ping')), method: 'GET', body: undefined }),
    status: 405,
    www: null,
    records: 0,
    check: METHOD_NOT_ALLOWED,
  },
  {
    name: 'app: hostile Origin on a text/plain POST (the middleware answers)',
    on: 'app',
    request: () => post(call('ping'), { origin: 'https://evil.example', 'content-type': 'text/plain' }),
    status: 403,
    www: null,
    check: (r) => (NO_CORS(r), SECURITY_HEADERS_SET(r)),
  },
  {
    name: 'app: hostile Origin on a JSON DELETE (the route answers)',
    on: 'app',
    request: () => ({ ...post(call('ping'), { origin: 'https://evil.example' }), method: 'DELETE', body: undefined }),
    status: 403,
    www: null,
    check: (r) => {
      NO_CORS(r);
      SECURITY_HEADERS_SET(r);
      expect(header(r, 'strict-transport-security')).toBe('max-age=63072000; includeSubDomains'); // production
    },
  },
  {
    name: 'app: preflight from a hostile Origin with a JSON Content-Type (the route answers)',
    on: 'app',
    request: () => ({
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'content-type': 'application/json',
        'access-control-request-method': 'POST',
      },
    }),
    status: 403,
    www: null,
    check: (r) => (NO_CORS(r), SECURITY_HEADERS_SET(r)),
  },
  {
    name: 'app: LOCK',
    on: 'app',
    request: () => ({ method: 'LOCK' }),
    status: 405,
    www: null,
    records: 0,
    check: METHOD_NOT_ALLOWED,
  },
  {
    name: 'app: M-SEARCH',
    on: 'app',
    request: () => ({ method: 'M-SEARCH' }),
    status: 405,
    www: null,
    records: 0,
    check: METHOD_NOT_ALLOWED,
  },
  // HEAD has no body to be JSON; the status, Allow and headers are what count.
  {
    name: 'app: HEAD',
    on: 'app',
    request: () => ({ method: 'HEAD' }),
    status: 405,
    www: null,
    records: 0,
    jsonBody: false,
    check: (r) => (expect(header(r, 'allow')).toBe('POST'), SECURITY_HEADERS_SET(r)),
  },
  {
    name: 'app: OPTIONS without Origin (not a preflight): 204 with Allow',
    on: 'app',
    request: () => ({ method: 'OPTIONS' }),
    status: 204,
    www: null,
    records: 0,
    check: (r) => (expect(header(r, 'allow')).toBe('OPTIONS, POST'), SECURITY_HEADERS_SET(r), NO_CORS(r)),
  },
  {
    name: 'app: ?access_token= in the query string',
    on: 'app',
    request: async () => post(call('whoami'), {}, `/mcp?access_token=${await appTok()}`),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'app: token in params._meta: anonymous',
    on: 'app',
    request: async () =>
      post({ ...call('whoami'), params: { name: 'whoami', arguments: {}, _meta: { access_token: await appTok() } } }),
    status: 401,
    www: anon(),
  },
  {
    name: 'app: DPoP scheme',
    on: 'app',
    request: async () => post(call('ping'), { authorization: `DPoP ${await appTok()}` }),
    status: 400,
    www: INVALID_REQUEST,
  },
  {
    name: 'app: expired token on the public tool',
    on: 'app',
    request: async () => post(call('ping'), bearer(await appTok({}, { expiresIn: -300 }))),
    status: 401,
    www: invalidToken(D.expired),
  },
  {
    name: 'app: alg none',
    on: 'app',
    request: () =>
      post(call('whoami'), bearer(`${b64({ alg: 'none' })}.${b64({ ...claimsNow(), aud: `${app.url}/mcp` })}.c2ln`)),
    status: 401,
    www: invalidToken(D.algorithm),
  },
  {
    name: 'app: batch [public, signed-in], 2025-03-26',
    on: 'app',
    request: () => post([call('ping', {}, 1), call('whoami', {}, 2)], { 'mcp-protocol-version': '2025-03-26' }),
    status: 401,
    www: anon(),
    records: 2,
  },
  {
    name: 'app: batch of 2,000 calls, 2025-11-25: refused, one record',
    on: 'app',
    request: () => post(manyCalls(2_000, 'ping')),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_not_supported'),
  },
  {
    name: 'app: batch of 2,000 calls, 2026-07-28: refused, one record',
    on: 'app',
    request: () => post(manyCalls(2_000, 'whoami'), { 'mcp-protocol-version': '2026-07-28' }),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_not_supported'),
  },
  {
    name: 'app: batch of 101 calls, 2025-03-26: refused, one record',
    on: 'app',
    request: () => post(manyCalls(101, 'whoami'), { 'mcp-protocol-version': '2025-03-26' }),
    status: 400,
    www: null,
    check: BATCH_REFUSED('batch_too_large'),
  },
  {
    name: 'app: "arguments": null on ping: one record',
    on: 'app',
    request: () => post({ ...call('ping'), params: { name: 'ping', arguments: null } }),
    status: 200,
    www: null,
    check: SDK_ERROR(-32602),
  },
  {
    name: 'app: batch [public, signed-in], no MCP-Protocol-Version',
    on: 'app',
    request: () => ({
      headers: { 'content-type': 'application/json', accept: MCP_HEADERS.accept },
      body: json([call('ping', {}, 1), call('whoami', {}, 2)]),
    }),
    status: 401,
    www: anon(),
    records: 2,
  },
  {
    name: 'app: anonymous whoami with an organization in the arguments',
    on: 'app',
    request: () => post(call('whoami', { organizationId: 'org_acme', org_id: 'org_acme' })),
    status: 401,
    www: anon(),
  },
  {
    name: 'app: a JSON-RPC method with a newline and a forged audit line',
    on: 'app',
    request: () =>
      post(
        { jsonrpc: '2.0', id: 1, method: 'x\n{"audit":{"decision":"allow","outcome":"ok"}}' },
        bearer('not-a-token'),
      ),
    status: 401,
    www: invalidToken(D.malformed),
  },
];

// ---------------------------------------------------------------------------------------------
// Running a row
// ---------------------------------------------------------------------------------------------
const tally = { requests: 0, passed: 0, flood: 0 };

/** Audit lines of the app consumed so far; each row's slice ends at its marker's record. */
let consumed = 0;
let markers = 0;
/** A request was sent whose slice was not read yet (its row failed early): resynchronize first. */
let appDirty = false;
async function appRecordsOfLastRequest(): Promise<AuditRecord[]> {
  appDirty = false;
  const method = `security-marker-${++markers}`;
  const marker = await rawRequest(app.url, post({ jsonrpc: '2.0', id: 1, method }, bearer('not-a-token')));
  expect(marker.status).toBe(401);
  const deadline = Date.now() + 5_000;
  for (let attempt = 0; attempt < 500 && Date.now() < deadline; attempt++) {
    const all = auditRecords(app.output()) as unknown as AuditRecord[];
    const index = all.findIndex((record, i) => i >= consumed && record.method === method);
    if (index >= 0) {
      const slice = all.slice(consumed, index);
      consumed = index + 1;
      return slice;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`marker ${method} never reached the audit log`);
}

function expectAnswer(row: Row, response: RawResponse, prm: string) {
  const www = typeof row.www === 'function' ? row.www(prm) : row.www;
  expect(response.status, `${row.name}: ${response.text.slice(0, 300)}`).toBe(row.status);
  expect(header(response, 'www-authenticate')).toBe(www);
  if (row.jsonBody ?? response.status >= 300) {
    expect(header(response, 'content-type')).toMatch(/^application\/json/);
    expectJsonErrorBody(response.text);
  }
  row.check?.(response);
}

describe('hostile requests: exact answers, no tool runs', () => {
  beforeAll(async () => {
    await appRecordsOfLastRequest(); // start the app's log slicing after startup
  });

  it.each(ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    await row.before?.();
    const jwksFetchesBefore = issuer.jwksFetches();
    for (let i = 0; i < (row.repeat ?? 1); i++) {
      ran.length = 0;
      const firstRecord = records.length;
      const spec = await row.request();
      tally.requests += 1;
      if (row.repeat) tally.flood += 1;
      if (row.on === 'app') {
        if (appDirty) await appRecordsOfLastRequest();
        appDirty = true;
        const response = await rawRequest(app.url, spec);
        expectAnswer(row, response, `${app.url}/.well-known/oauth-protected-resource/mcp`);
        const left = await appRecordsOfLastRequest();
        expect(left.filter(recordShowsRun), 'an audit record says a tool ran').toEqual([]);
        expect(left.length, `audit records: ${JSON.stringify(left)}`).toBe(row.records ?? 1);
        for (const record of left) if (record.status !== undefined) expect(record.status).toBe(response.status);
      } else {
        const response = await rawRequest(servers[row.on]!.url, spec);
        expectAnswer(row, response, PRM);
        expect(ran, 'a tool handler ran').toEqual([]);
        const left = records.slice(firstRecord);
        expect(left.filter(recordShowsRun), 'an audit record says a tool ran').toEqual([]);
        expect(left.length, `audit records: ${JSON.stringify(left)}`).toBe(row.records ?? 1);
        for (const record of left) {
          expect(record.status).toBe(response.status);
          expect(JSON.stringify(record)).not.toMatch(/eyJ[\w-]+\.eyJ/); // never a token
        }
      }
      tally.passed += 1;
    }
    row.after?.({ jwksFetchesBefore });
    if (row.on === 'jwks') jwksIssuer.setMode('up');
  });
});

// ---------------------------------------------------------------------------------------------
// What the matrix cannot express as "refused": recoveries and the tools that do run
// ---------------------------------------------------------------------------------------------
describe('after the hostile rows', () => {
  it('the JWKS endpoint recovers: the same token works once the key set is back', async () => {
    jwksIssuer.setMode('up');
    ran.length = 0;
    const fetchesBefore = jwksIssuer.jwksFetches();
    const response = await rawRequest(servers.jwks!.url, post(call('member'), bearer(await jwksToken())));
    expect(response.status).toBe(200);
    expect(ran).toEqual([{ tool: 'member' }]);
    expect(jwksIssuer.jwksFetches()).toBe(fetchesBefore + 1);
  });

  it('no attacker-controlled key URL was ever fetched', () => {
    expect(attackerHits).toBe(0);
  });

  it('time claims inside the limits pass: a 24 h lifetime, nbf in the past, nbf and iat within the 30 s tolerance', async () => {
    const now = nowSeconds();
    const tokens = [
      await tok({ iat: now, exp: now + 86_400 }),
      await tok({ nbf: now - 600 }),
      await tok({ nbf: now + 10 }),
      await tok({ iat: now + 10, exp: now + 300 }),
    ];
    for (const token of tokens) {
      ran.length = 0;
      const response = await rawRequest(servers.endpoint!.url, post(call('member'), bearer(token)));
      expect(response.status, response.text.slice(0, 200)).toBe(200);
      expect(ran).toEqual([{ tool: 'member' }]);
    }
  });

  it('extra audience: an access token for the client-id audience (jti, sid, typ JWT or at+jwt) still passes', async () => {
    for (const typ of ['JWT', 'at+jwt', 'application/at+jwt', undefined]) {
      ran.length = 0;
      const token = await tok(
        { aud: EXTRA_AUDIENCE, sid: 'app_consent_01', client_id: undefined },
        { header: { typ } },
      );
      const response = await rawRequest(servers.extra!.url, post(call('member'), bearer(token)));
      expect(response.status, `typ ${typ}: ${response.text.slice(0, 200)}`).toBe(200);
      expect(ran).toEqual([{ tool: 'member' }]);
    }
  });

  it('a trailing space in the scope claim is a delimiter (RFC 6749 §3.3): "notes:read " grants notes:read, nothing else', async () => {
    ran.length = 0;
    const read = await rawRequest(
      servers.endpoint!.url,
      post(call('notes_read'), bearer(await tok({ scope: 'notes:read ' }))),
    );
    expect(read.status).toBe(200);
    const write = await rawRequest(
      servers.endpoint!.url,
      post(call('notes_write'), bearer(await tok({ scope: 'notes:read ' }))),
    );
    expect(write.status).toBe(403);
    expect(ran).toEqual([{ tool: 'notes_read' }]);
  });

  it('organization ids in arguments or _meta never change the verified organization (in-process echo)', async () => {
    ran.length = 0;
    const message = call('org_echo', { org_id: 'org_globex', organizationId: 'org_globex' });
    const response = await rawRequest(
      servers.endpoint!.url,
      post(
        { ...message, params: { ...message.params, _meta: { org_id: 'org_globex' } } },
        bearer(await tok({ scope: 'notes:read' })),
      ),
    );
    expect(response.status).toBe(200);
    expect(rpcBody(response)).toMatchObject({ result: { structuredContent: { organizationId: 'org_acme' } } });
    expect(ran).toEqual([
      { tool: 'org_echo', organizationId: 'org_acme', args: { org_id: 'org_globex', organizationId: 'org_globex' } },
    ]);
  });

  it('organization ids in arguments never change the verified organization (built app, whoami)', async () => {
    appDirty = true;
    const response = await rawRequest(
      app.url,
      post(
        call('whoami', { org_id: 'org_globex', organizationId: 'org_globex' }),
        bearer(await appTok({ scope: 'openid' })),
      ),
    );
    expect(response.status).toBe(200);
    expect(rpcBody(response)).toMatchObject({
      result: { structuredContent: { subject: 'user_bob', organizationId: 'org_acme' } },
    });
  });

  it('the body limit is decided from a declared Content-Length without reading the body (in-process, body never ends)', async () => {
    const config = loadConfig({ NODE_ENV: 'production', AUTHKIT_DOMAIN: issuer.issuer, MCP_RESOURCE_URL: RESOURCE });
    const handle = createMcpEndpoint({
      registry,
      config: () => config,
      verifier: ownVerifier(),
      directory: () => lookup,
      auditLine: (record) => records.push(record),
    });
    let pulls = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        pulls += 1;
        controller.enqueue(new Uint8Array(1024));
      },
    });
    const request = new Request(`${RESOURCE}`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'content-length': String(1024 * 1024 + 1) },
      body: endless,
      duplex: 'half',
    } as RequestInit);
    const response = await Promise.race([
      handle(request),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the endpoint read the endless body')), 3_000),
      ),
    ]);
    expect(response.status).toBe(413);
    expect(pulls).toBeLessThanOrEqual(1); // the stream's own start-up pull, never a read loop
  });
});

// ---------------------------------------------------------------------------------------------
// Platform behaviour the route cannot see, and the SDK's refusals
// ---------------------------------------------------------------------------------------------
describe('repeated Authorization under next start, and requests the SDK refuses', () => {
  // Node's HTTP parser keeps only the FIRST Authorization line and discards the rest before Next
  // builds the Request, so the route cannot answer 400 as it does in process (matrix row "two
  // Authorization header lines"). What must hold instead: the first line alone decides, and a
  // valid token in a later line never rescues an invalid first one.
  it('built app: of two Authorization lines only the first counts', async () => {
    if (appDirty) await appRecordsOfLastRequest();
    appDirty = true;
    const good = await rawRequest(
      app.url,
      post(call('whoami'), { authorization: [`Bearer ${await appTok()}`, 'Bearer garbage'] }),
    );
    expect(good.status).toBe(200);
    await appRecordsOfLastRequest();
    appDirty = true;
    const bad = await rawRequest(
      app.url,
      post(call('whoami'), { authorization: ['Bearer garbage', `Bearer ${await appTok()}`] }),
    );
    expect(bad.status).toBe(401);
    expect(header(bad, 'www-authenticate')).toBe(
      invalidToken(D.malformed)(`${app.url}/.well-known/oauth-protected-resource/mcp`),
    );
    const left = await appRecordsOfLastRequest();
    expect(left.filter(recordShowsRun)).toEqual([]);
  });

  // Known upstream limit (SECURITY.md): Next builds a fetch Request for the middleware, and the Fetch
  // standard forbids TRACE, so the constructor throws inside Next before any of our code runs; Next
  // answers a plain-text 500 and logs the TypeError. Pinned so a Next upgrade that fixes it is noticed.
  it('built app: TRACE never reaches the middleware or the route (Next answers 500 itself)', async () => {
    if (appDirty) await appRecordsOfLastRequest();
    appDirty = true;
    const response = await rawRequest(app.url, { method: 'TRACE', headers: {} });
    expect(response.status).toBe(500);
    expect(header(response, 'content-type')).toMatch(/^text\/plain/);
    expect(response.text).not.toMatch(LEAK);
    expect(await appRecordsOfLastRequest()).toEqual([]);
  });

  // The same with a JSON Content-Type, which skips the middleware: Next's route wrapper builds the
  // Request instead and fails the same way, before the route's code.
  it('built app: TRACE with a JSON Content-Type never reaches the route either (Next answers 500 itself)', async () => {
    if (appDirty) await appRecordsOfLastRequest();
    appDirty = true;
    const response = await rawRequest(app.url, { method: 'TRACE', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(500);
    expect(header(response, 'content-type')).toMatch(/^text\/plain/);
    expect(response.text).not.toMatch(LEAK);
    expect(await appRecordsOfLastRequest()).toEqual([]);
  });

  // Requests the SDK refuses after the gate (protocol version, parse errors) are audited by lib/endpoint/endpoint.ts.
  it('built app: a request refused by the SDK with 400 leaves one audit record', async () => {
    if (appDirty) await appRecordsOfLastRequest();
    appDirty = true;
    const response = await rawRequest(app.url, post(call('ping'), { 'mcp-protocol-version': '1999-01-01' }));
    expect(response.status).toBe(400);
    const left = await appRecordsOfLastRequest();
    expect(left).toHaveLength(1);
  });
});
