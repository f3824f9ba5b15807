import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { freePort } from '@/tests/helpers/net';

/**
 * Production refuses to start when a primitive asks for input (notes_delete does) and no
 * MCP_REQUEST_STATE_KEY is set: one line naming the variable, exit 1, nothing served.
 */
const NEXT_BIN = createRequire(import.meta.url).resolve('next/dist/bin/next');

describe('next start without MCP_REQUEST_STATE_KEY', () => {
  it('exits 1 with one [startup] line naming the variable', async () => {
    const port = await freePort();
    // Everything this shell has, minus any key it may carry.
    const { MCP_REQUEST_STATE_KEY: _unset, ...inherited } = process.env;
    const env = {
      ...inherited,
      NODE_ENV: 'production' as const,
      NEXT_TELEMETRY_DISABLED: '1',
      AUTHKIT_DOMAIN: 'https://issuer.example.com',
      MCP_RESOURCE_URL: 'https://mcp.example.com/mcp',
      PORT: String(port),
    };
    const child = spawn(process.execPath, [NEXT_BIN, 'start', '-H', '127.0.0.1', '-p', String(port)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 30_000);
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(code, output).toBe(1);
    expect(output.split('\n').filter((line) => line.startsWith('[startup]'))).toEqual([
      '[startup] MCP_REQUEST_STATE_KEY: must be set in production when a tool, resource or prompt asks for input (at least 32 random bytes, e.g. openssl rand -base64 48)',
    ]);
  });
});
