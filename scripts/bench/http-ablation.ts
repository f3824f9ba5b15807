import { BODIES, EXPECT, log, MCP_HEADERS, median, pairedRatio, percentile, sleep, type Round } from './common';
import { startFixtures } from './fixtures';
import { cannon, startScriptServer, stopAllServers } from './http';

/**
 * Over HTTP without Next: does the verified-token cache's `await crypto.subtle.digest` show in the
 * tail? lib/mcp.ts's endpoint behind node:http (endpoint-server.ts) twice, unchanged ("subtle") and
 * with the proposed synchronous-key cache ("sync"), plus the bare mcp-handler; autocannon in
 * interleaved rounds like run.ts.
 *
 *   tsx scripts/bench/http-ablation.ts [--seconds 90] [--round-seconds 2] [--connections 16]
 */
const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const seconds = arg('seconds', 90);
const roundSeconds = arg('round-seconds', 2);
const connections = arg('connections', 16);
const RESOURCE = 'http://127.0.0.1:3000/mcp'; // the audience only; the servers listen elsewhere

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stopAllServers().finally(() => process.exit(130)));

const fixtures = await startFixtures();
try {
  const env = fixtures.env(RESOURCE);
  const [bare, subtle, sync] = await Promise.all([
    startScriptServer('./bare-server.ts'),
    startScriptServer('./endpoint-server.ts', { ...env, BENCH_TOKEN_CACHE: 'subtle' }),
    startScriptServer('./endpoint-server.ts', { ...env, BENCH_TOKEN_CACHE: 'sync' }),
  ]);
  const token = await fixtures.token(RESOURCE);
  const auth = { ...MCP_HEADERS, authorization: `Bearer ${token}` };
  const targets = [
    { name: '(a) bare mcp-handler, node:http', url: bare.url, headers: { ...MCP_HEADERS }, body: BODIES.ping, check: EXPECT.a },
    { name: '(b) ping anonymous, lib unchanged', url: subtle.url, headers: { ...MCP_HEADERS }, body: BODIES.ping, check: EXPECT.b },
    { name: '(c) whoami cached token, lib unchanged (subtle.digest key)', url: subtle.url, headers: auth, body: BODIES.whoami, check: EXPECT.c },
    { name: '(b) ping anonymous, sync-key cache', url: sync.url, headers: { ...MCP_HEADERS }, body: BODIES.ping, check: EXPECT.b },
    { name: '(c) whoami cached token, sync-key cache', url: sync.url, headers: auth, body: BODIES.whoami, check: EXPECT.c },
  ].map((t) => ({ ...t, rounds: [] as Round[], latencies: [] as number[] }));

  for (const t of targets) {
    const response = await fetch(`${t.url}/mcp`, { method: 'POST', headers: t.headers, body: t.body });
    const text = await response.text();
    if (response.status !== 200 || !t.check(text)) throw new Error(`${t.name}: ${response.status} ${text.slice(0, 300)}`);
  }
  for (const t of targets) await cannon(t, connections, 1); // warm-up
  const rounds = Math.max(2, Math.floor(seconds / (targets.length * roundSeconds)));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(k + r) % targets.length]!;
      t.rounds.push(await cannon(t, connections, roundSeconds, t.latencies));
    }
    log(`[http-ablation] round ${r + 1}/${rounds}`);
    await sleep(0);
  }
  console.log(`\nhttp-ablation: ${rounds} rounds x ${roundSeconds} s, ${connections} connections, Node ${process.version}`);
  console.log('| scenario | req/s | p50 ms | p99 ms (median of rounds) | pooled p99 ms | req/s ÷ (a) | errors |');
  console.log('|:--|--:|--:|--:|--:|--:|--:|');
  for (const t of targets) {
    console.log(
      `| ${t.name} | ${median(t.rounds.map((r) => r.rps)).toFixed(0)} | ${median(t.rounds.map((r) => r.p50)).toFixed(2)} | ${median(t.rounds.map((r) => r.p99)).toFixed(2)} | ${percentile(t.latencies, 99).toFixed(2)} | ${pairedRatio(t.rounds, targets[0]!.rounds, (r) => r.rps).toFixed(2)} | ${t.rounds.reduce((s, r) => s + r.errors, 0)} |`,
    );
  }
  const [, b, c, bs, cs] = targets as [unknown, (typeof targets)[0], (typeof targets)[0], (typeof targets)[0], (typeof targets)[0]];
  console.log(`\np99 (c)/(b), lib unchanged: ${pairedRatio(c.rounds, b.rounds, (r) => r.p99).toFixed(2)} (pooled ${(percentile(c.latencies, 99) / percentile(b.latencies, 99)).toFixed(2)})`);
  console.log(`p99 (c)/(b), sync-key cache: ${pairedRatio(cs.rounds, bs.rounds, (r) => r.p99).toFixed(2)} (pooled ${(percentile(cs.latencies, 99) / percentile(bs.latencies, 99)).toFixed(2)})`);
} finally {
  await stopAllServers();
  await fixtures.close();
}
process.exit(0);
