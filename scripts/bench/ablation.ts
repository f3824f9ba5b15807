import { createMcpHandler as createSdkHandler, McpServer, type CallToolResult } from '@modelcontextprotocol/server';
import { createMcpHandler } from 'mcp-handler';
import { createDirectoryLookup, MAX_TTL_MS } from '@/lib/directory/workos';
import { ANONYMOUS, PERSON, principalFromClaims, type Principal } from '@/lib/auth/principal';
import type { TokenVerifier } from '@/lib/auth/verify';
import { loadConfig } from '@/lib/config';
import { authInfoFor, handlerFor } from '@/lib/endpoint/dispatch';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { evaluate } from '@/lib/policy';
import { registry } from '@/tools';
import ping from '@/tools/ping';
import { BODIES, EXPECT, log, MCP_HEADERS, median, pairedRatio, type Round } from './common';
import { ALICE, bareHandler, startFixtures } from './fixtures';
import { noopSink, post, runRound, type Handler, type Slot } from './inprocess';

/**
 * Where (c)'s extra cost over (a) goes: the same in-process harness (interleaved rounds, medians),
 * peeling one layer at a time. Audit goes to a no-op sink throughout.
 *
 *   tsx scripts/bench/ablation.ts [--seconds 40] [--round-ms 500] [--concurrency 8]
 *
 *   a            bare mcp-handler, ping (1 tool)
 *   D1 ping      lib/endpoint/dispatch handlerFor([ping]) (our wrapper, 1 tool), anonymous identity
 *   Dc ping      handlerFor(tools (c) sees: 5 tools), alice identity, tools/call ping
 *   Dc whoami    same handler, tools/call whoami                 = (c) without the endpoint's layers
 *   E stub       createMcpEndpoint with a verifier that answers at once (no hashing, no RS256)
 *   c            createMcpEndpoint, real verifier, cached token (scenario c)
 *   a0           (a) with mcp-handler's `telemetry: false`
 *   a-sdk        the SDK's own createMcpHandler (which mcp-handler wraps), given the parsed body:
 *                no clone + re-parse of a body lib/endpoint/endpoint.ts has already parsed
 *   D1 whoami    handlerFor([whoami]) (register only the called tool), tools/call whoami
 */

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const seconds = arg('seconds', 40);
const roundMs = arg('round-ms', 500);
const concurrency = arg('concurrency', 8);
const URL_MCP = 'http://127.0.0.1:3000/mcp';

const fixtures = await startFixtures();
try {
  const config = loadConfig(fixtures.env(URL_MCP));
  const lookup = createDirectoryLookup(config.workos, { ttlMs: MAX_TTL_MS });
  const token = await fixtures.token(URL_MCP);
  const now = Math.floor(Date.now() / 1000);
  const alice = principalFromClaims({ ...ALICE, iat: now, exp: now + 3600, jti: 'bench' }, PERSON);
  const visibleTo = (principal: Principal) =>
    registry.tools.filter((tool) =>
      ['allow', 'challenge'].includes(evaluate(tool.access, principal, undefined).effect),
    );
  const cTools = visibleTo(alice);
  // The wrapper's records of callers minted here (no trail) go nowhere, as the endpoints' do.
  const quiet = { auditLine: noopSink };
  log(`[ablation] tools visible to (c): ${cTools.map((t) => t.name).join(', ')}`);

  const dispatchRequest = (body: string, principal: Principal) => {
    const request = new Request(URL_MCP, { method: 'POST', headers: MCP_HEADERS, body });
    request.auth = authInfoFor({ principal, requestId: crypto.randomUUID(), lookup }, config.resourceUrl);
    return request;
  };
  const stub: TokenVerifier = async () => ({ ok: true, principal: alice });
  const endpoint = createMcpEndpoint({ registry, config: () => config, directory: () => lookup, auditLine: noopSink });
  const stubbed = createMcpEndpoint({
    registry,
    config: () => config,
    directory: () => lookup,
    verifier: () => stub,
    auditLine: noopSink,
  });

  const noTelemetry = createMcpHandler(
    (server) => {
      server.registerTool(
        ping.name,
        { title: ping.title, description: ping.description, inputSchema: ping.input, annotations: ping.annotations },
        async (a: Record<string, unknown>): Promise<CallToolResult> =>
          ping.handler(a as { message?: string }, { principal: ANONYMOUS }),
      );
    },
    { serverInfo: { name: 'edge-mcp-authkit', version: '0.1.0' }, capabilities: { tools: {} }, telemetry: false },
  );

  // The SDK handler mcp-handler wraps, given the already-parsed body (what lib/endpoint/endpoint.ts has in hand).
  const sdk = createSdkHandler(
    () => {
      const server = new McpServer({ name: 'edge-mcp-authkit', version: '0.1.0' }, { capabilities: { tools: {} } });
      server.registerTool(
        ping.name,
        { title: ping.title, description: ping.description, inputSchema: ping.input, annotations: ping.annotations },
        async (a: Record<string, unknown>): Promise<CallToolResult> =>
          ping.handler(a as { message?: string }, { principal: ANONYMOUS }),
      );
      return server;
    },
    { legacy: 'stateless' },
  );
  const pingParsed = JSON.parse(BODIES.ping) as unknown;
  const sdkParsed: Handler = (request) => sdk.fetch(request, { parsedBody: pingParsed });

  const slots: Slot[] = [];
  const add = (variant: string, handler: Handler, request: () => Request, check: (b: string) => boolean) =>
    slots.push({ id: 'a', wire: '2025-11-25', variant, handler, request, check, rounds: [] });
  add('a       bare, ping', bareHandler(), () => post('a', '2025-11-25'), EXPECT.a);
  add('a0      bare, ping, telemetry: false', noTelemetry, () => post('a', '2025-11-25'), EXPECT.a);
  add(
    'a-sdk   SDK createMcpHandler, parsedBody given, body-less Request',
    sdkParsed,
    () => new Request(URL_MCP, { method: 'POST', headers: MCP_HEADERS }),
    EXPECT.a,
  );
  add(
    'D1 ping handlerFor([ping])',
    handlerFor(
      registry.tools.filter((t) => t.name === 'ping'),
      quiet,
    ),
    () => dispatchRequest(BODIES.ping, ANONYMOUS),
    EXPECT.b,
  );
  add(
    `Dc ping handlerFor(${cTools.length} tools)`,
    handlerFor(cTools, quiet),
    () => dispatchRequest(BODIES.ping, alice),
    EXPECT.b,
  );
  add(
    `D1 whoami handlerFor([whoami])`,
    handlerFor(
      cTools.filter((t) => t.name === 'whoami'),
      quiet,
    ),
    () => dispatchRequest(BODIES.whoami, alice),
    EXPECT.c,
  );
  add(`Dc whoami`, handlerFor(cTools, quiet), () => dispatchRequest(BODIES.whoami, alice), EXPECT.c);
  add('E stub  endpoint, stub verifier', stubbed, () => post('c', '2025-11-25', token), EXPECT.c);
  add('c       endpoint, cached token', endpoint, () => post('c', '2025-11-25', token), EXPECT.c);

  for (const slot of slots) await runRound(slot, roundMs / 2, concurrency); // warm-up
  const rounds = Math.max(3, Math.floor((seconds * 1000) / (slots.length * roundMs)));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < slots.length; k++) {
      const slot = slots[(k + r) % slots.length]!;
      slot.rounds.push(await runRound(slot, roundMs, concurrency));
    }
    log(`[ablation] round ${r + 1}/${rounds}`);
  }
  const a = slots[0]!.rounds;
  const us = (rounds: Round[]) => median(rounds.map((r) => 1e6 / r.rps));
  console.log(`\nablation: ${rounds} rounds x ${roundMs} ms, concurrency ${concurrency}, Node ${process.version}`);
  console.log('| variant | req/s | µs per request (1e6 ÷ req/s) | Δ µs vs (a) | req/s ÷ (a) | errors |');
  console.log('|:--|--:|--:|--:|--:|--:|');
  const base = us(a);
  for (const slot of slots) {
    const cost = us(slot.rounds);
    console.log(
      `| ${slot.variant} | ${median(slot.rounds.map((r) => r.rps)).toFixed(0)} | ${cost.toFixed(0)} | ${slot === slots[0] ? '' : (cost - base).toFixed(0)} | ${pairedRatio(slot.rounds, a, (r) => r.rps).toFixed(2)} | ${slot.rounds.reduce((s, r) => s + r.errors, 0)} |`,
    );
  }
} finally {
  await fixtures.close();
}
process.exit(0);
