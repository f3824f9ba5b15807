import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { NextConfig } from 'next';
import { PHASE_DEVELOPMENT_SERVER } from 'next/constants';

const nextConfig: NextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  // next build type-checks only what ships: tests (tsc --noEmit in CI checks them) can never block a deploy.
  typescript: { tsconfigPath: 'tsconfig.build.json' },
};

/** The development request-state key, kept like scripts/local-auth keeps its keys: generated once, gitignored. */
const DEV_KEY_FILE = '.local-auth/request-state.key';
/** The secret the local authorization server signs its WorkOS-shaped webhooks with (scripts/local-auth/main.ts reads it too). */
const DEV_WEBHOOK_SECRET_FILE = '.local-auth/webhook-secret';

function devSecret(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync('.local-auth', { recursive: true, mode: 0o700 });
    const key = randomBytes(48).toString('base64');
    try {
      writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    } catch {
      return readFileSync(file, 'utf8').trim(); // another process wrote it first
    }
    chmodSync(file, 0o600);
    return key;
  }
}

export default function config(phase: string): NextConfig {
  // next dev only: production must be given MCP_REQUEST_STATE_KEY (lib/endpoint/request-state.ts).
  if (phase === PHASE_DEVELOPMENT_SERVER && !process.env.MCP_REQUEST_STATE_KEY)
    process.env.MCP_REQUEST_STATE_KEY = devSecret(DEV_KEY_FILE);
  // next dev with the local authorization server: its webhooks are signed with this secret.
  if (phase === PHASE_DEVELOPMENT_SERVER && !process.env.WORKOS_WEBHOOK_SECRET && !process.env.AUTHKIT_DOMAIN)
    process.env.WORKOS_WEBHOOK_SECRET = devSecret(DEV_WEBHOOK_SECRET_FILE);
  return nextConfig;
}
