import { httpAuditSinkFor } from '@/lib/audit/log';
import { readCredentials } from '@/lib/auth/authorization-header';
import { verifierFor } from '@/lib/auth/authenticate';
import { createDirectoryLookup } from '@/lib/directory/workos';
import { membershipNeeded } from '@/lib/endpoint/membership';
import { PERSON, principalFromClaims } from '@/lib/auth/principal';
import { createTokenCache } from '@/lib/auth/token-cache';
import { loadConfig, MAX_BODY_BYTES } from '@/lib/config';
import { authInfoFor } from '@/lib/endpoint/dispatch';
import { forwardedRequest } from '@/lib/endpoint/forwarded-request';
import { BENCH_REQUEST_STATE_KEY } from './fixtures';
import { gate } from '@/lib/endpoint/gate';
import { readBodyWithLimit } from '@/lib/http/answers';
import { evaluate } from '@/lib/policy';
import { parseEnvelope } from '@/lib/wire/envelope';
import { registry } from '@/tools';
import { BODIES, MCP_HEADERS, median } from './common';
import { ALICE } from './fixtures';

/**
 * Cost of each step lib/endpoint/endpoint.ts adds before dispatch, measured one at a time (sequential, median of
 * 7 batches). Explains the (E stub) - (Dc) gap of ablation.ts. No sockets, no servers.
 *
 *   tsx scripts/bench/steps.ts [--n 20000]
 */
const nArg = process.argv.indexOf('--n');
const N = nArg >= 0 ? Number(process.argv[nArg + 1]) : 20_000;
const URL_MCP = 'http://127.0.0.1:3000/mcp';
const config = loadConfig({
  NODE_ENV: 'production',
  AUTHKIT_DOMAIN: 'http://127.0.0.1:1',
  MCP_RESOURCE_URL: URL_MCP,
  MCP_REQUEST_STATE_KEY: BENCH_REQUEST_STATE_KEY,
});
const now = Math.floor(Date.now() / 1000);
const alice = principalFromClaims({ ...ALICE, iat: now, exp: now + 3600, jti: 'bench' }, PERSON);
const token = `${'a'.repeat(100)}.${'b'.repeat(500)}.${'c'.repeat(342)}`; // RS256 access-token sized
const bodyBytes = new TextEncoder().encode(BODIES.whoami);
const lookup = createDirectoryLookup({ apiKey: 'k', apiUrl: 'http://127.0.0.1:1' });
const cache = createTokenCache();
cache.set(token, alice);
const headers = { ...MCP_HEADERS, authorization: `Bearer ${token}` };
const fresh = () => new Request(URL_MCP, { method: 'POST', headers, body: BODIES.whoami });

type Step = { name: string; run: () => unknown; prepare?: () => unknown };
const steps: Step[] = [
  { name: 'harness: new Request(url, {headers, body: string}) (every scenario pays it)', run: fresh },
  {
    name: 'readBodyWithLimit(request) (stream reader)',
    prepare: fresh,
    run: async function (this: Request) {
      await readBodyWithLimit(this, MAX_BODY_BYTES);
    },
  },
  { name: 'new TextDecoder().decode + JSON.parse', run: () => JSON.parse(new TextDecoder().decode(bodyBytes)) },
  {
    name: 'readCredentials (URL parsed only with a query + regex)',
    prepare: fresh,
    run: function (this: Request) {
      return readCredentials(this.headers, this.url);
    },
  },
  { name: 'verifierFor(config) (JSON.stringify key)', run: () => verifierFor(config) },
  { name: 'token cache get (SHA-256 of the signature + compare)', run: () => cache.get(token) },
  {
    name: 'parseEnvelope + membershipNeeded + gate + visible filter (6 evaluate)',
    run: () => {
      const envelope = parseEnvelope(JSON.parse(BODIES.whoami) as unknown, '2025-11-25');
      membershipNeeded(envelope, registry, alice);
      gate(envelope, registry, alice, undefined);
      return registry.tools.filter((t) => ['allow', 'challenge'].includes(evaluate(t.access, alice, undefined).effect));
    },
  },
  { name: 'crypto.randomUUID()', run: () => crypto.randomUUID() },
  {
    name: 'forwardedRequest (headers without authorization + GatedRequest)',
    prepare: fresh,
    run: function (this: Request) {
      return forwardedRequest(this, bodyBytes, undefined);
    },
  },
  {
    name: 'GatedRequest.clone().json() (what mcp-handler reads)',
    prepare: () => forwardedRequest(fresh(), bodyBytes, undefined),
    run: async function (this: Request) {
      await this.clone().json();
    },
  },
  {
    name: 'authInfoFor (new URL(resourceUrl))',
    run: () => authInfoFor({ principal: alice, requestId: 'x', lookup }, config.resourceUrl),
  },
  {
    name: 'httpAuditSinkFor(config) x2 (JSON.stringify key)',
    run: () => {
      httpAuditSinkFor(config);
      httpAuditSinkFor(config);
    },
  },
  {
    name: 'wrapper: audit record (new Date().toISOString + spreads)',
    run: () => ({
      time: new Date().toISOString(),
      ...{ type: 'tool_call', requestId: 'x', sub: alice.subject, scopes: alice.scopes },
    }),
  },
  {
    name: 'mcp-handler: request.clone().json() (also paid by (a))',
    prepare: fresh,
    run: async function (this: Request) {
      await this.clone().json();
    },
  },
];

console.log(`per-step cost, ${N} iterations x 7 batches, median (Node ${process.version})`);
console.log('| step | µs |');
console.log('|:--|--:|');
for (const step of steps) {
  const batches: number[] = [];
  for (let b = 0; b < 7; b++) {
    const inputs = step.prepare ? Array.from({ length: N }, step.prepare) : [];
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const out = step.run.call(inputs[i]);
      if (out instanceof Promise) await out;
    }
    batches.push(((performance.now() - t0) * 1000) / N);
  }
  console.log(`| ${step.name} | ${median(batches).toFixed(2)} |`);
}
process.exit(0);
