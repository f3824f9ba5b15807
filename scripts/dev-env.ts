// What the `npm run dev` processes agree on: .env.local fills in what the
// shell did not set (as next dev does), and the MCP resource URL they derive.

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));

export function loadDevEnv(): void {
  const envFile = resolve(PROJECT_ROOT, '.env.local');
  if (existsSync(envFile)) process.loadEnvFile(envFile);
}

/** The default the MCP server's configuration uses in development (lib/config.ts). */
export function devResourceUrl(): string {
  return process.env.MCP_RESOURCE_URL ?? `http://localhost:${process.env.PORT ?? '3000'}/mcp`;
}

/**
 * A development secret both `npm run dev` processes read (next.config.ts keeps its own copy of this
 * logic): generated once under .local-auth/ (gitignored, 0600), the first writer wins a race.
 */
export function devSecret(relativeFile: string): string {
  const file = resolve(PROJECT_ROOT, relativeFile);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const secret = randomBytes(48).toString('base64');
    try {
      writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    } catch {
      return readFileSync(file, 'utf8').trim(); // another process wrote it first
    }
    chmodSync(file, 0o600);
    return secret;
  }
}

/** The file next.config.ts and the local authorization server share for the webhook secret. */
export const DEV_WEBHOOK_SECRET_FILE = '.local-auth/webhook-secret';
