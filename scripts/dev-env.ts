// What the `npm run dev` processes agree on: .env.local fills in what the
// shell did not set (as next dev does), and the MCP resource URL they derive.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
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
