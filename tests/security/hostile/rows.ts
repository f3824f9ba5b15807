import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '@/lib/audit/record';
import type { DirectoryLookup } from '@/lib/directory/workos';
import { createTokenVerifier, type TokenVerifier } from '@/lib/auth/verify';
import { loadConfig, type Config } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { SECURITY_HEADERS } from '@/lib/http/origin';
import { auditRecords, MCP_HEADERS, startApp, type RunningApp } from '../../helpers/app';
import { startTestIssuer, type SignOptions, type TestIssuer } from '../../helpers/issuer';
import { listen, serveFetchHandler, type Listening } from '../../helpers/net';
import {
  countingRegistry,
  expectJsonErrorBody,
  header,
  nowSeconds,
  rawRequest,
  recordShowsRun,
  rpcBody,
  rs256Raw,
  type RawRequest,
  type RawResponse,
  type RunLog,
} from '../helpers';

/**
 * The hostile-request matrix: one file per family of rows in this folder, and this module for what
 * they share (the stack, the request and answer vocabulary, the tokens and the row runner). Every
 * row is one (or, for the kid flood, many) hostile requests with the exact status and
 * WWW-Authenticate text expected, and proof that no tool ran:
 *  - in-process rows hit createMcpEndpoint over real HTTP on 127.0.0.1 with a fixture registry
 *    whose handlers count every run, and read the audit records the endpoint wrote;
 *  - app rows (app.test.ts) hit the built app under `next start` (middleware, Next's own routing,
 *    Node's HTTP parser) and prove "no tool ran" from its audit lines: each request is followed by a
 *    marker request whose audit record closes that request's slice of the log, so the records each
 *    row left are counted exactly (0 when the middleware or Next answered before the route).
 */

// ---------------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------------
export const RESOURCE = 'https://mcp.example.test/mcp';
export const EXTRA_AUDIENCE = 'client_01EXTRAAUDIENCE';
export const PRM = 'https://mcp.example.test/.well-known/oauth-protected-resource/mcp';

export const ran: RunLog = [];
export const records: AuditRecord[] = [];
export const registry = countingRegistry(ran);

/** Membership answers for admin_only: user_admin is an admin, user_down's lookup fails, everyone else is a member. */
export const lookup: DirectoryLookup = {
  membership: async (userId) =>
    userId === 'user_down'
      ? 'unavailable'
      : { roles: userId === 'user_admin' ? ['admin'] : ['member'], permissions: [] },
  user: async () => 'unavailable',
  members: async () => 'unavailable',
  requestCount: () => 0,
};

export type Target = 'endpoint' | 'required' | 'clients' | 'jwks' | 'extra' | 'app';

export let issuer: TestIssuer;
export let jwksIssuer: TestIssuer;
export let attackerJwks: Listening;
export let attackerHits = 0;
export let attacker: { privateKey: CryptoKey; publicJwk: JWK };
export let app: RunningApp;
export const servers: Partial<Record<Exclude<Target, 'app'>, Listening>> = {};

/** One production verifier per endpoint (its own JWKS cache), created on first use like verifierFor. */
export function ownVerifier(): (config: Config) => TokenVerifier {
  let verify: TokenVerifier | undefined;
  return (config) => (verify ??= createTokenVerifier(config));
}

/**
 * Starts, before the file's tests, the issuer and what the file's rows are sent to: the in-process
 * endpoints named in `targets` (the JWKS-outage issuer with `jwks`), the built app under
 * `next start` only with `app`, and the attacker's key pair and key set with `attacker`.
 * Each file starts only these: a key pair costs about 0.1 s, and `next start` 1 to 2 s.
 */
export function useHostileStack(targets: Target[], options: { attacker?: boolean } = {}): void {
  beforeAll(async () => {
    issuer = await startTestIssuer();
    if (targets.includes('jwks')) jwksIssuer = await startTestIssuer();
    if (options.attacker) {
      const pair = await generateKeyPair('RS256', { extractable: true });
      attacker = {
        privateKey: pair.privateKey,
        publicJwk: { ...(await exportJWK(pair.publicKey)), kid: 'attacker-1', alg: 'RS256', use: 'sig' },
      };
      attackerJwks = await listen((_req, res) => {
        attackerHits += 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [attacker.publicJwk] }));
      });
    }

    const env = { NODE_ENV: 'production', AUTHKIT_DOMAIN: issuer.issuer, MCP_RESOURCE_URL: RESOURCE };
    const configs: Record<Exclude<Target, 'app'>, () => Config> = {
      endpoint: () => loadConfig(env),
      required: () => loadConfig({ ...env, MCP_AUTH_REQUIRED: 'true' }),
      clients: () => loadConfig({ ...env, ALLOWED_CLIENT_IDS: 'client_1' }),
      jwks: () => loadConfig({ ...env, AUTHKIT_DOMAIN: jwksIssuer.issuer }),
      // The documented fallback when AuthKit has no resource indicator: the client id as an audience.
      extra: () => loadConfig({ ...env, AUTH_EXTRA_AUDIENCES: EXTRA_AUDIENCE }),
    };
    for (const target of Object.keys(configs) as Array<keyof typeof configs>) {
      if (!targets.includes(target)) continue;
      const config = configs[target]();
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
    if (targets.includes('app'))
      app = await startApp({ AUTHKIT_DOMAIN: issuer.issuer, ALLOWED_ORIGINS: 'http://localhost:3000' });
  });

  afterAll(async () => {
    await app?.stop();
    await Promise.all([
      ...Object.values(servers).map((s) => s?.close()),
      issuer?.close(),
      jwksIssuer?.close(),
      attackerJwks?.close(),
    ]);
  });
}

// ---------------------------------------------------------------------------------------------
// Request and answer vocabulary
// ---------------------------------------------------------------------------------------------
export const call = (name: string, args: Record<string, unknown> = {}, id: number | string = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});
export const json = (value: unknown) => JSON.stringify(value);
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const post = (body: unknown, headers: Record<string, string | string[]> = {}, path = '/mcp'): RawRequest => ({
  path,
  headers: { ...MCP_HEADERS, ...headers },
  body: typeof body === 'string' ? body : json(body),
});

export const D = {
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

export type Www = string | null | ((prm: string) => string);
export const anon = (scope?: string) => (prm: string) =>
  `Bearer resource_metadata="${prm}"${scope ? `, scope="${scope}"` : ''}`;
export const invalidToken = (description: string) => (prm: string) =>
  `Bearer error="invalid_token", error_description="${description}", resource_metadata="${prm}"`;
export const stepUp = (scope: string) => (prm: string) =>
  `Bearer error="insufficient_scope", scope="${scope}", error_description="The access token lacks a scope this tool requires", resource_metadata="${prm}"`;
export const INVALID_REQUEST = 'Bearer error="invalid_request"';

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------
export const base = (aud: string) => ({
  aud,
  sub: 'user_bob',
  org_id: 'org_acme',
  client_id: 'client_1',
  scope: 'openid',
});
/** A valid token for the in-process endpoints, with overrides (undefined removes a claim). */
export const tok = (claims: Record<string, unknown> = {}, options?: SignOptions) =>
  issuer.sign({ ...base(RESOURCE), ...claims }, options);
/** A valid token for the running app. */
export const appTok = (claims: Record<string, unknown> = {}, options?: SignOptions) =>
  issuer.sign({ ...base(`${app.url}/mcp`), ...claims }, options);
export const claimsNow = (extra: Record<string, unknown> = {}) => {
  const now = nowSeconds();
  return { iss: issuer.issuer, ...base(RESOURCE), iat: now, exp: now + 300, jti: crypto.randomUUID(), ...extra };
};
/**
 * An ID token of the same issuer, shaped like AuthKit's (WorkOS Connect reference: aud = the client id,
 * profile and email claims, a nonce, no jti or sid) and signed with the real key. Overrides; undefined removes.
 */
export const idToken = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) => {
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
export const jwksToken = async () => (jwksTokenValue ??= await jwksIssuer.sign({ ...base(RESOURCE) }));
/** The issuer's real RSA key material, imported for another algorithm. */
export async function realKeyAs(alg: 'RS384' | 'PS256'): Promise<CryptoKey> {
  return (await importJWK({ ...(await exportJWK(issuer.privateKey)), alg }, alg)) as CryptoKey;
}
/** Replace one segment (0 header, 1 payload, 2 signature) of a compact token. */
export const withSegment = (token: string, index: number, value: string) =>
  token
    .split('.')
    .map((s, i) => (i === index ? value : s))
    .join('.');

// ---------------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------------
export type Row = {
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

export const SSE_NOT_FOUND = (name: string) => (response: RawResponse) => {
  expect(rpcBody(response)).toMatchObject({ error: { code: -32602, message: `Tool ${name} not found` } });
};
export const NO_CORS = (response: RawResponse) => expect(header(response, 'access-control-allow-origin')).toBeNull();
export const SECURITY_HEADERS_SET = (response: RawResponse) => {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(header(response, name), name).toBe(value);
};
/** 405 from the endpoint itself: JSON-RPC error body, Allow, the security headers. */
export const METHOD_NOT_ALLOWED = (response: RawResponse) => {
  expect(header(response, 'allow')).toBe('POST');
  expect(rpcBody(response)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
  SECURITY_HEADERS_SET(response);
};
export const SDK_ERROR = (code: number) => (response: RawResponse) =>
  expect(rpcBody(response)).toMatchObject({ error: { code } });
export const BATCH_REFUSED = (reason: string) => (response: RawResponse) =>
  expect(rpcBody(response)).toMatchObject({ id: null, error: { code: -32600, data: { reason } } });
/** A batch of `n` tools/call requests for one tool. */
export const manyCalls = (n: number, name: string) => Array.from({ length: n }, (_, i) => call(name, {}, i + 1));

// ---------------------------------------------------------------------------------------------
// Running a row
// ---------------------------------------------------------------------------------------------
export const tally = { requests: 0, passed: 0, flood: 0 };

/** Audit lines of the app consumed so far; each row's slice ends at its marker's record. */
let consumed = 0;
let markers = 0;
/** `dirty`: a request was sent whose slice was not read yet (its row failed early): resynchronize first. */
export const appLog = { dirty: false };
export async function appRecordsOfLastRequest(): Promise<AuditRecord[]> {
  appLog.dirty = false;
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

/** One test per row of a family, run in order against the stack useHostileStack started. */
export function hostileRows(family: string, ROWS: Row[]): void {
  describe(`hostile requests (${family}): exact answers, no tool runs`, () => {
    beforeAll(async () => {
      // Start the app's log slicing after its startup lines.
      if (ROWS.some((row) => row.on === 'app')) await appRecordsOfLastRequest();
    });
    afterAll(() => {
      console.log(
        `[security] hostile matrix, ${family}: ${tally.requests} requests (${ROWS.length} rows, ${tally.flood} of them random-kid tokens), ${tally.passed} passed`,
      );
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
          if (appLog.dirty) await appRecordsOfLastRequest();
          appLog.dirty = true;
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
}
