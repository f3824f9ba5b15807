import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { log } from './common';

/**
 * Bench-only builds of the app, so `next start` can be measured with `/mcp` on the Edge runtime
 * and on Node, and with every `/mcp` request sent through the middleware, while the shipped route
 * stays as it is. Each variant is a copy of the app's sources under bench-results/variants/<name>/
 * (gitignored; modules resolve from this repository's node_modules), changed only as listed below,
 * plus the two peer routes at /bench/p1/mcp and /bench/p2/mcp (peers.ts), which the middleware never
 * sees, as in the templates they stand for. Rebuilt only when a source is newer than the variant's build.
 */

export type VariantName = 'edge' | 'nodejs' | 'edge-all-through-middleware' | 'edge-traced' | 'edge-governed';
export const VARIANTS: readonly VariantName[] = [
  'edge',
  'nodejs',
  'edge-all-through-middleware',
  'edge-traced',
  'edge-governed',
];
/** Variants that are the edge build started differently (http.ts), not builds of their own. */
const SAME_BUILD_AS: Partial<Record<VariantName, VariantName>> = { 'edge-traced': 'edge' };

export const VARIANT_NOTES: Record<VariantName, string> = {
  edge: 'as shipped: /mcp on the Edge runtime; JSON POSTs skip the middleware',
  nodejs: "/mcp with runtime = 'nodejs'; JSON POSTs skip the middleware",
  'edge-all-through-middleware':
    "/mcp on the Edge runtime with every request through the middleware, the matcher before issue 17 (the route's own front door still runs): the middleware's cost",
  'edge-traced':
    'the edge build with traces on: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set to a loopback collector (http/protobuf, as deployed), so instrumentation.ts registers the tracer provider',
  'edge-governed':
    'as shipped, with a shared store (redis-server behind the Upstash REST front, on loopback): every request consults the deny list, and (c) counts against a rate limit raised so the bench never reaches it',
};

/** The rate limit the (c) tool declares, and what the edge-governed copy raises it to: counted, never reached. */
const BENCH_RATE_FROM = "rate: { requests: 60, window: '1 m' }";
const BENCH_RATE_TO = "rate: { requests: 1_000_000, window: '1 m' }";

const SOURCES = [
  'app',
  'lib',
  'tools',
  'scripts',
  'middleware.ts',
  'instrumentation.ts',
  'instrumentation-node.ts',
  'next.config.ts',
  'tsconfig.json',
  // next.config.ts points next build at it; without it the copy does not build.
  'tsconfig.build.json',
  'package.json',
];
const require = createRequire(import.meta.url);

function replaceOnce(text: string, from: string, to: string, where: string): string {
  if (!text.includes(from)) throw new Error(`variant: ${where} no longer contains ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

function newestSource(root: string): number {
  let newest = 0;
  const visit = (path: string) => {
    const st = statSync(path);
    if (st.isDirectory()) {
      for (const entry of readdirSync(path))
        if (entry !== 'node_modules' && entry !== '.next') visit(join(path, entry));
    } else newest = Math.max(newest, st.mtimeMs);
  };
  for (const source of SOURCES) if (existsSync(join(root, source))) visit(join(root, source));
  return newest;
}

function peerRoute(kind: 'p1' | 'p2', runtime: 'edge' | 'nodejs'): string {
  return `import { peerHandler } from '@/scripts/bench/peers';

// Bench-only (scripts/bench/variants.ts): the ${kind} peer pattern, never part of the shipped app.
export const runtime = '${runtime}';
export const dynamic = 'force-dynamic';
// Made on the first request: the build evaluates this module without the bench's environment.
let handler: ((request: Request) => Promise<Response>) | undefined;
export function POST(request: Request): Promise<Response> {
  const env = process.env;
  handler ??= peerHandler('${kind}', {
    issuer: env.AUTHKIT_DOMAIN ?? '',
    resource: env.MCP_RESOURCE_URL ?? '',
    workosApiUrl: env.WORKOS_API_URL,
    workosApiKey: env.WORKOS_API_KEY,
  });
  return handler(request);
}
`;
}

function writeVariant(root: string, dir: string, name: VariantName): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const source of SOURCES) cpSync(join(root, source), join(dir, source), { recursive: true });
  const runtime = name === 'nodejs' ? 'nodejs' : 'edge';
  const routeFile = join(dir, 'app/mcp/route.ts');
  if (runtime === 'nodejs')
    writeFileSync(
      routeFile,
      replaceOnce(
        readFileSync(routeFile, 'utf8'),
        "export const runtime = 'edge';",
        "export const runtime = 'nodejs';",
        'app/mcp/route.ts',
      ),
    );
  for (const kind of ['p1', 'p2'] as const) {
    mkdirSync(join(dir, 'app/bench', kind, 'mcp'), { recursive: true });
    writeFileSync(join(dir, 'app/bench', kind, 'mcp/route.ts'), peerRoute(kind, runtime));
  }
  const middlewareFile = join(dir, 'middleware.ts');
  let middleware = replaceOnce(
    readFileSync(middlewareFile, 'utf8'),
    "'/((?!_next/static|",
    "'/((?!bench/|_next/static|",
    'middleware.ts',
  );
  // The first entry no longer leaves /mcp out, so every /mcp request matches it, JSON POSTs included.
  if (name === 'edge-all-through-middleware')
    middleware = replaceOnce(middleware, '|favicon.ico|mcp$).*)', '|favicon.ico).*)', 'middleware.ts');
  writeFileSync(middlewareFile, middleware);
  if (name === 'edge-governed') {
    const tool = join(dir, 'tools/whoami.ts');
    writeFileSync(tool, replaceOnce(readFileSync(tool, 'utf8'), BENCH_RATE_FROM, BENCH_RATE_TO, 'tools/whoami.ts'));
  }
  // Type-checked in the repository already; the copy need not be checked again. Inside the config's
  // own `typescript` entry: a second `typescript` key would replace it or be replaced by it.
  const configFile = join(dir, 'next.config.ts');
  writeFileSync(
    configFile,
    replaceOnce(
      readFileSync(configFile, 'utf8'),
      'typescript: {',
      'typescript: { ignoreBuildErrors: true,',
      'next.config.ts',
    ),
  );
}

async function build(dir: string): Promise<void> {
  const nextBin = require.resolve('next/dist/bin/next');
  const child = spawn(process.execPath, [nextBin, 'build'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
  });
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-6_000);
  });
  const code = await new Promise<number | null>((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      done(exitCode);
    });
  });
  if (code !== 0) throw new Error(`next build of ${dir} failed (${code}):\n${tail}`);
}

/** The directory of each variant's built app, building the ones older than the sources. */
export async function ensureVariants(outDir: string, names: readonly VariantName[]): Promise<Record<string, string>> {
  const root = resolve('.');
  const newest = newestSource(root);
  const dirs: Record<string, string> = {};
  for (const name of names) {
    if (SAME_BUILD_AS[name]) continue; // started differently, built as its base (below)
    const dir = join(outDir, 'variants', name);
    const buildId = join(dir, '.next/BUILD_ID');
    if (!existsSync(buildId) || statSync(buildId).mtimeMs < newest) {
      const started = Date.now();
      log(`[variants] building ${name} (${VARIANT_NOTES[name]})`);
      writeVariant(root, dir, name);
      await build(dir);
      log(`[variants] ${name} built in ${Math.round((Date.now() - started) / 1000)} s`);
    } else log(`[variants] ${name}: build is newer than every source, reused`);
    dirs[name] = dir;
  }
  for (const name of names) {
    const base = SAME_BUILD_AS[name];
    if (!base) continue;
    if (!dirs[base]) throw new Error(`variant ${name} is the ${base} build: run it with ${base}`);
    dirs[name] = dirs[base];
  }
  return dirs;
}
