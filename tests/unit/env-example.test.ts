import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@/lib/config';
import { PROJECT_ROOT } from '../helpers/edge';

/**
 * `.env.example` as a newcomer uses it: its first line says to copy it to `.env.local`, which
 * `next dev` and scripts/local-auth/main.ts both load. As copied it must keep the local mode, and it
 * must name every variable the server reads.
 */
const example = readFileSync(join(PROJECT_ROOT, '.env.example'), 'utf8');

/** What `npm run dev` sees from a verbatim copy, as dotenv parses it (Node's own parser). */
function devEnv(text: string): Record<string, string | undefined> {
  return { ...parseEnv(text), NODE_ENV: 'development' };
}

/** scripts/local-auth/main.ts starts the local authorization server unless AUTHKIT_DOMAIN is set. */
const localAuthServerStarts = (env: Record<string, string | undefined>) => !env.AUTHKIT_DOMAIN;

describe('.env.example copied to .env.local', () => {
  it('keeps npm run dev on the local authorization server and the local endpoint', () => {
    const env = devEnv(example);
    expect(localAuthServerStarts(env)).toBe(true);
    expect(loadConfig(env)).toMatchObject({
      production: false,
      issuer: 'http://localhost:4000',
      jwksUrl: 'http://localhost:4000/oauth2/jwks',
      resourceUrl: 'http://localhost:3000/mcp',
      audiences: ['http://localhost:3000/mcp'],
      workos: { apiUrl: 'http://localhost:4000' },
    });
  });

  it('switches to AuthKit only when its AUTHKIT_DOMAIN line is uncommented', () => {
    const uncommented = example.replace(/^# (AUTHKIT_DOMAIN=)/m, '$1');
    expect(uncommented).not.toBe(example);
    const env = devEnv(uncommented);
    expect(localAuthServerStarts(env)).toBe(false);
    expect(loadConfig(env).issuer).toBe('https://your-app.authkit.app');
  });
});

// ---------------------------------------------------------------------------------------------

/** Set by Next.js or Vercel, never by the user: documented in the README, not assigned in the file. */
const PLATFORM = new Set([
  'NODE_ENV',
  'NEXT_RUNTIME',
  'VERCEL',
  'VERCEL_ENV',
  'VERCEL_URL',
  'VERCEL_PROJECT_NAME',
  'VERCEL_PROJECT_PRODUCTION_URL',
]);

function sourceFiles(path: string): string[] {
  const full = join(PROJECT_ROOT, path);
  if (!statSync(full).isDirectory()) return [full];
  return readdirSync(full, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.tsx?$/.test(name))
    .map((name) => join(full, name));
}

/** Every environment variable the given sources read: `env.X`, `env['X']` and the keys of zod env schemas. */
function variablesRead(paths: string[]): Set<string> {
  const names = new Set<string>();
  for (const file of paths.flatMap(sourceFiles)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b|\benv\[['"]([A-Z][A-Z0-9_]*)['"]\]/g))
      names.add((m[1] ?? m[2])!);
    for (const schema of text.matchAll(/EnvSchema\s*=\s*z\.object\(\{([\s\S]*?)\}\)/g)) {
      for (const key of schema[1]!.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*:/gm)) names.add(key[1]!);
    }
  }
  return names;
}

/** Variables the file assigns, commented out (`# NAME=`) or not. */
const assigned = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));

describe('.env.example names every variable the server reads', () => {
  const server = variablesRead([
    'lib',
    'app',
    'tools',
    'middleware.ts',
    'instrumentation.ts',
    'instrumentation-node.ts',
  ]);

  it('finds the variables (the scan itself works)', () => {
    for (const name of ['AUTHKIT_DOMAIN', 'MCP_RESOURCE_URL', 'AUDIT_SINK_SECRET', 'WORKOS_API_URL']) {
      expect(server, name).toContain(name);
    }
  });

  it('has a line for each one', () => {
    const missing = [...server].filter((name) => !PLATFORM.has(name) && !assigned.has(name));
    expect(missing).toEqual([]);
  });

  it('has no line for a variable nothing reads', () => {
    const read = new Set([...server, ...variablesRead(['scripts'])]);
    expect([...assigned].filter((name) => !read.has(name))).toEqual([]);
  });
});
