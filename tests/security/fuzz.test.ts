import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirectoryLookup } from '@/lib/directory/workos';
import { createTokenVerifier, type TokenVerifier } from '@/lib/auth/verify';
import { MCP_HEADERS } from '../helpers/app';
import { useEndpoint } from '../helpers/endpoint';
import {
  b64,
  countingRegistry,
  header,
  LEAK,
  rawRequest,
  recordShowsRun,
  type RawRequest,
  type RawResponse,
  type RunLog,
} from './helpers';

/**
 * fast-check against the in-process endpoint over real HTTP on 127.0.0.1: random bodies, headers
 * and tokens. Whatever arrives: no 5xx (the JWKS stays up here), every non-2xx body is JSON with
 * no stack trace or internal path, no unhandled rejection, a handler runs only for a caller its
 * policy admits, and a tampered token is never accepted. Run counts are bounded (about 2 000
 * requests in all) and every property has a time limit.
 */
const RESOURCE = 'https://mcp.example.test/mcp';
const PRM = 'https://mcp.example.test/.well-known/oauth-protected-resource/mcp';
const TOOLS = ['open', 'member', 'notes_read', 'notes_write', 'admin_only', 'org_echo'] as const;
const TIME_LIMIT_MS = 8_000;

const ran: RunLog = [];
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeAll(() => {
  process.on('unhandledRejection', onRejection);
});
afterAll(() => {
  console.log(
    `[security] fuzzing: ${fuzzed.cases} cases in ${fuzzed.properties} properties, ${fuzzed.interrupted} stopped by the ${TIME_LIMIT_MS / 1000} s limit`,
  );
  process.off('unhandledRejection', onRejection);
});

let verify: TokenVerifier | undefined;
const lookup: DirectoryLookup = {
  membership: async () => ({ roles: ['member'], permissions: [] }),
  user: async () => 'unavailable',
  members: async () => 'unavailable',
  requestCount: () => 0,
};
const endpoint = useEndpoint(
  countingRegistry(ran),
  { MCP_RESOURCE_URL: RESOURCE },
  { verifier: (c) => (verify ??= createTokenVerifier(c)), directory: () => lookup },
);
const records = endpoint.records;

type Caller =
  | { kind: 'anonymous' }
  | { kind: 'valid'; token: string; scopes: string[]; org: boolean }
  | { kind: 'invalid'; token: string };
let callers: Caller[] = [];
let validToken = '';

beforeAll(async () => {
  const sign = (scope: string, org: boolean) =>
    endpoint.issuer.sign({
      aud: RESOURCE,
      sub: 'user_fuzz',
      client_id: 'client_fuzz',
      scope,
      ...(org ? { org_id: 'org_acme' } : {}),
    });
  callers = [{ kind: 'anonymous' }];
  for (const scope of ['', 'notes:read', 'notes:read notes:write']) {
    for (const org of [true, false])
      callers.push({ kind: 'valid', token: await sign(scope, org), scopes: scope.split(' ').filter(Boolean), org });
  }
  callers.push({ kind: 'invalid', token: await endpoint.issuer.sign({ aud: RESOURCE }, { expiresIn: -600 }) });
  callers.push({ kind: 'invalid', token: await endpoint.issuer.sign({ aud: 'https://other.example/mcp' }) });
  validToken = await sign('notes:read notes:write', true);
});

// ---------------------------------------------------------------------------------------------
// Oracles
// ---------------------------------------------------------------------------------------------
/** An independent reading of the fixture policies (the lookup answers "member" for everyone). */
function admits(caller: Caller, tool: string): boolean {
  if (caller.kind === 'invalid') return false;
  if (tool === 'open') return true;
  if (caller.kind === 'anonymous') return false;
  if (tool === 'member') return true;
  if (!caller.org) return false;
  if (tool === 'notes_read' || tool === 'org_echo') return caller.scopes.includes('notes:read');
  if (tool === 'notes_write') return caller.scopes.includes('notes:read') && caller.scopes.includes('notes:write');
  return false; // admin_only: nobody is an admin here
}

const send = (spec: RawRequest) => rawRequest(endpoint.server.url, { timeoutMs: 10_000, ...spec });

/** What every answer must satisfy, whatever was sent. */
function expectSafeAnswer(response: RawResponse, sent: string) {
  expect(response.status, `5xx for ${sent.slice(0, 200)}: ${response.text.slice(0, 200)}`).toBeLessThan(500);
  if (response.status >= 300) {
    expect(header(response, 'content-type'), response.text).toMatch(/^application\/json/);
    expect(() => JSON.parse(response.text), response.text).not.toThrow();
  } else if ((header(response, 'content-type') ?? '').includes('text/event-stream')) {
    for (const line of response.text.split('\n').filter((l) => l.startsWith('data:')))
      expect(() => JSON.parse(line.slice(5))).not.toThrow();
  }
  expect(response.text, 'stack trace or internal path in a body').not.toMatch(LEAK);
  const www = header(response, 'www-authenticate');
  if (www !== null) expect(www).toMatch(/^Bearer [\x20-\x7e]*$/);
}

/** Handlers that ran for this request must all be admitted for the caller, and no more than the calls sent. */
function expectOnlyAdmittedRuns(caller: Caller, calls: number, firstRecord: number) {
  for (const run of ran)
    expect(admits(caller, run.tool), `${run.tool} ran for ${JSON.stringify(caller).slice(0, 80)}`).toBe(true);
  expect(ran.length).toBeLessThanOrEqual(calls);
  const showsRun = records.slice(firstRecord).filter(recordShowsRun);
  expect(showsRun.length).toBe(ran.length);
}

const countCalls = (message: unknown): number =>
  (Array.isArray(message) ? message : [message]).filter(
    (m) => typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'tools/call',
  ).length;

const authHeader = (caller: Caller): Record<string, string> =>
  caller.kind === 'anonymous' ? {} : { authorization: `Bearer ${caller.token}` };

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------
/** Text that cannot itself look like a leak once echoed back (tool names are echoed by the SDK). */
const safeText = (s: string) => !LEAK.test(s);
const callerArb = () => fc.constantFrom(...callers);
const toolNameArb = fc.oneof(
  fc.constantFrom(...TOOLS, 'no_such_tool', 'OPEN', 'open ', ''),
  fc.string({ maxLength: 40 }),
);
const rpcArb = fc.record(
  {
    jsonrpc: fc.oneof(fc.constant('2.0'), fc.constantFrom('1.0', '2', 2, null)),
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 20 }), fc.constant(null), fc.object({ maxDepth: 1 })),
    method: fc.oneof(
      fc.constantFrom(
        'tools/call',
        'tools/call',
        'tools/list',
        'initialize',
        'ping',
        'notifications/initialized',
        'resources/list',
        'Tools/Call',
      ),
      fc.string({ maxLength: 30 }),
    ),
    params: fc.oneof(
      fc.record(
        {
          name: toolNameArb,
          arguments: fc.oneof(fc.object({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 })),
          _meta: fc.object({ maxDepth: 1 }),
          protocolVersion: fc.constantFrom('2025-11-25', '2025-03-26', 'x'),
        },
        { requiredKeys: ['name'] },
      ),
      fc.jsonValue({ maxDepth: 2 }),
    ),
  },
  { requiredKeys: [] },
);
const messageArb = fc.oneof(
  { weight: 3, arbitrary: rpcArb },
  { weight: 1, arbitrary: fc.array(rpcArb, { maxLength: 4 }) },
);

/** Header values Node's HTTP client will send: tab, printable ASCII and obs-text (the control characters it allows). */
const headerValueArb = (maxLength: number) =>
  fc.string({
    unit: fc.oneof(
      fc.constant('\t'),
      fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
    ),
    maxLength,
  });
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const b64urlArb = (maxLength: number) => fc.string({ unit: fc.constantFrom(...B64URL), minLength: 1, maxLength });

const INVALID_TOKEN = new RegExp(
  `^Bearer error="invalid_token", error_description="The access token (is malformed|expired|was not issued by the trusted issuer|was not issued for this resource|uses an algorithm that is not allowed|signature is invalid|was signed with an unknown key|has an invalid claim|lacks a required claim|is not valid yet)", resource_metadata="${PRM.replace(/[.?/]/g, '\\$&')}"$`,
);

/** Cases actually run: a time limit may stop a property early, so the count is printed, not assumed. */
const fuzzed = { properties: 0, cases: 0, interrupted: 0 };
const PROPERTY = <T>(numRuns: number): fc.Parameters<T> => ({
  numRuns,
  interruptAfterTimeLimit: TIME_LIMIT_MS,
  endOnFailure: true,
  asyncReporter: async (details: fc.RunDetails<T>) => {
    fuzzed.properties += 1;
    fuzzed.cases += details.numRuns;
    if (details.interrupted) fuzzed.interrupted += 1;
    if (details.failed) throw new Error(fc.defaultReportMessage(details));
  },
});

/** Refuses a token exactly as an invalid one must be: 401 invalid_token, nothing ran, one reject record. */
async function expectRefusedToken(token: string) {
  ran.length = 0;
  const firstRecord = records.length;
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'open', arguments: {} } });
  const response = await send({ headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, body });
  expectSafeAnswer(response, token);
  expect(response.status, `${token.slice(0, 120)} -> ${response.text.slice(0, 200)}`).toBe(401);
  expect(header(response, 'www-authenticate')).toMatch(INVALID_TOKEN);
  expect(response.text).not.toContain(token);
  expect(ran).toEqual([]);
  expect(records.slice(firstRecord)).toEqual([
    expect.objectContaining({ type: 'request_rejected', reason: 'invalid_token', status: 401 }),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------
describe('fuzzing the endpoint over HTTP', () => {
  it('random JSON bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.json({ maxDepth: 3 }).filter(safeText), callerArb(), async (body, caller) => {
        ran.length = 0;
        const firstRecord = records.length;
        const response = await send({ headers: { ...MCP_HEADERS, ...authHeader(caller) }, body });
        expectSafeAnswer(response, body);
        if (caller.kind === 'invalid') expect(response.status).toBe(401);
        expectOnlyAdmittedRuns(caller, countCalls(JSON.parse(body)), firstRecord);
      }),
      PROPERTY(300),
    );
  });

  it('random JSON-RPC-like messages and batches, under every protocol version', async () => {
    await fc.assert(
      fc.asyncProperty(
        messageArb,
        callerArb(),
        fc.constantFrom('2025-11-25', '2025-06-18', '2025-03-26', undefined),
        async (message, caller, version) => {
          const body = JSON.stringify(message);
          fc.pre(safeText(body));
          ran.length = 0;
          const firstRecord = records.length;
          const headers: Record<string, string> = {
            'content-type': 'application/json',
            accept: MCP_HEADERS.accept,
            ...authHeader(caller),
          };
          if (version) headers['mcp-protocol-version'] = version;
          const response = await send({ headers, body });
          expectSafeAnswer(response, body);
          if (caller.kind === 'invalid') expect(response.status).toBe(401);
          expectOnlyAdmittedRuns(caller, countCalls(message), firstRecord);
        },
      ),
      PROPERTY(300),
    );
  });

  it('random bytes as the body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), callerArb(), async (bytes, caller) => {
        fc.pre(safeText(Buffer.from(bytes).toString('latin1')) && safeText(Buffer.from(bytes).toString('utf8')));
        ran.length = 0;
        const firstRecord = records.length;
        const response = await send({ headers: { ...MCP_HEADERS, ...authHeader(caller) }, body: bytes });
        expectSafeAnswer(response, Buffer.from(bytes).toString('hex'));
        if (caller.kind === 'invalid') expect(response.status).toBe(401);
        expectOnlyAdmittedRuns(caller, 1, firstRecord);
      }),
      PROPERTY(200),
    );
  });

  it('random Authorization values never run anything: 400 invalid_request or 401 invalid_token', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          headerValueArb(300),
          headerValueArb(200).map((s) => `Bearer ${s}`),
          b64urlArb(300).map((s) => `Bearer ${s}`),
        ),
        async (authorization) => {
          fc.pre(safeText(authorization));
          ran.length = 0;
          const body = JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'tools/call',
            params: { name: 'open', arguments: {} },
          });
          const response = await send({ headers: { ...MCP_HEADERS, authorization }, body });
          expectSafeAnswer(response, authorization);
          expect([400, 401]).toContain(response.status);
          if (response.status === 400)
            expect(header(response, 'www-authenticate')).toBe('Bearer error="invalid_request"');
          else expect(header(response, 'www-authenticate')).toMatch(INVALID_TOKEN);
          expect(ran, 'even the public tool must not run behind a bad Authorization header').toEqual([]);
        },
      ),
      PROPERTY(250),
    );
  });

  it('random MCP-Protocol-Version, Content-Type, Accept and session headers on a signed-in tool', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            'mcp-protocol-version': fc.oneof(
              headerValueArb(40),
              fc.constantFrom('2025-11-25', '2025-03-26', '2024-11-05', ''),
            ),
            'content-type': fc.oneof(
              headerValueArb(60),
              fc.constantFrom(
                'application/json',
                'application/json; charset=utf-16',
                'text/plain',
                'application/x-www-form-urlencoded',
                'multipart/form-data; boundary=x',
              ),
            ),
            accept: fc.oneof(
              headerValueArb(60),
              fc.constantFrom('application/json, text/event-stream', 'text/event-stream', '*/*', 'application/json'),
            ),
            'mcp-session-id': headerValueArb(60),
          },
          { requiredKeys: [] },
        ),
        callerArb(),
        async (overrides, caller) => {
          fc.pre(Object.values(overrides).every(safeText));
          ran.length = 0;
          const firstRecord = records.length;
          const body = JSON.stringify({
            jsonrpc: '2.0',
            id: 7,
            method: 'tools/call',
            params: { name: 'member', arguments: {} },
          });
          const response = await send({ headers: { ...MCP_HEADERS, ...overrides, ...authHeader(caller) }, body });
          expectSafeAnswer(response, JSON.stringify(overrides));
          if (caller.kind === 'invalid') expect(response.status).toBe(401);
          if (caller.kind === 'anonymous') expect(response.status).toBe(401); // authentication comes before any header check
          expectOnlyAdmittedRuns(caller, 1, firstRecord);
        },
      ),
      PROPERTY(250),
    );
  });

  it('random three-part base64url tokens are refused with 401 invalid_token', async () => {
    await fc.assert(
      fc.asyncProperty(fc.tuple(b64urlArb(120), b64urlArb(300), b64urlArb(400)), async ([h, p, s]) => {
        await expectRefusedToken(`${h}.${p}.${s}`);
      }),
      PROPERTY(200),
    );
  });

  it('structured forgeries (random header and claims, junk signature) are refused with 401 invalid_token, never 503', async () => {
    const headerArb = fc.record(
      {
        alg: fc.oneof(
          fc.constantFrom('RS256', 'RS384', 'PS256', 'ES256', 'EdDSA', 'HS256', 'none', 'None', 'RSA-OAEP'),
          fc.string({ maxLength: 10 }),
          fc.integer(),
        ),
        kid: fc.oneof(
          fc.constant('test-key-1'),
          fc.string({ maxLength: 20 }),
          fc.integer(),
          fc.object({ maxDepth: 1 }),
        ),
        typ: fc.constantFrom('at+jwt', 'JWT', 'JOSE', 'id+jwt'),
        crit: fc.oneof(fc.constant([]), fc.constant(['b64']), fc.constant(['exp']), fc.string({ maxLength: 5 })),
        b64: fc.boolean(),
        zip: fc.constant('DEF'),
        jku: fc.constant('http://127.0.0.1:9/jwks'),
        jwk: fc.record({ kty: fc.constantFrom('RSA', 'oct', 'EC'), k: b64urlArb(20) }),
      },
      { requiredKeys: [] },
    );
    const now = Math.floor(Date.now() / 1000);
    const timeArb = fc.oneof(
      fc.integer({ min: now - 10 ** 6, max: now + 10 ** 6 }),
      fc.constantFrom('now', null, 1e21, -1, 0.5),
    );
    const claimsArb = fc.record(
      {
        iss: fc.oneof(fc.constant(endpoint.issuer.issuer), fc.string({ maxLength: 30 })),
        aud: fc.oneof(fc.constant(RESOURCE), fc.constant([RESOURCE]), fc.string({ maxLength: 30 })),
        sub: fc.oneof(fc.string({ maxLength: 20 }), fc.integer()),
        exp: timeArb,
        nbf: timeArb,
        iat: timeArb,
        scope: fc.oneof(fc.constant('notes:read notes:write'), fc.string({ maxLength: 30 })),
        org_id: fc.string({ maxLength: 10 }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(headerArb, fc.jsonValue({ maxDepth: 1 })),
        fc.oneof(claimsArb, fc.jsonValue({ maxDepth: 1 })),
        b64urlArb(400),
        async (h, p, s) => {
          await expectRefusedToken(`${b64(h ?? null)}.${b64(p ?? null)}.${s}`);
        },
      ),
      PROPERTY(250),
    );
  });

  it('a valid token with one character changed is never accepted', async () => {
    const segments = validToken.split('.');
    // Sanity: the untouched token is accepted, so a refusal below is about the mutation.
    ran.length = 0;
    const ok = await send({
      headers: { ...MCP_HEADERS, authorization: `Bearer ${validToken}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'open', arguments: {} } }),
    });
    expect(ok.status).toBe(200);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 }),
        fc.nat(),
        fc.constantFrom(...B64URL),
        async (index, position, replacement) => {
          const segment = segments[index]!;
          const at = position % segment.length;
          fc.pre(segment[at] !== replacement);
          const mutated = segment.slice(0, at) + replacement + segment.slice(at + 1);
          await expectRefusedToken(segments.map((s, i) => (i === index ? mutated : s)).join('.'));
        },
      ),
      PROPERTY(300),
    );
  });

  // A 2048-bit RS256 signature is 342 base64url characters whose last one carries 2 data bits and
  // 4 unused bits. Changing only the unused bits decodes to the same bytes, so jose alone would
  // accept a token string the issuer never minted; lib/auth/verify.ts refuses non-canonical segments.
  it('a token whose signature is re-encoded non-canonically is refused', async () => {
    const [h, p, s] = validToken.split('.') as [string, string, string];
    const last = B64URL.indexOf(s.at(-1)!);
    const variant = `${s.slice(0, -1)}${B64URL[(last & 0b110000) | 0b0001]}`;
    expect(Buffer.from(variant, 'base64url').equals(Buffer.from(s, 'base64url'))).toBe(true);
    await expectRefusedToken(`${h}.${p}.${variant}`);
  });

  it('no unhandled promise rejection during the fuzzing', async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(rejections).toEqual([]);
  });
});
