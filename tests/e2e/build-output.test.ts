import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net';
import { startTestIssuer } from '../helpers/issuer';

/** What `next build` produced (global setup ran it) and what `npm start` serves. */
describe('production build', () => {
  it('marks /mcp, the metadata routes and the middleware as Edge functions', () => {
    const manifest = JSON.parse(readFileSync('.next/server/middleware-manifest.json', 'utf8')) as {
      functions: Record<string, { page: string }>;
      middleware: Record<string, unknown>;
    };
    expect(Object.keys(manifest.functions)).toEqual(
      expect.arrayContaining([
        '/mcp/route',
        '/.well-known/oauth-protected-resource/route',
        '/.well-known/oauth-protected-resource/mcp/route',
        '/.well-known/oauth-authorization-server/route',
      ]),
    );
    expect(Object.keys(manifest.middleware)).toContain('/');
  });

  it('npm start serves /mcp on PORT', async () => {
    const issuer = await startTestIssuer();
    const port = await freePort();
    const child = spawn('npm', ['start', '--', '-H', '127.0.0.1'], {
      env: { ...process.env, NODE_ENV: 'production', PORT: String(port), AUTHKIT_DOMAIN: issuer.issuer, MCP_RESOURCE_URL: `http://127.0.0.1:${port}/mcp` },
      stdio: 'ignore',
      detached: true,
    });
    try {
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 150));
        status = await fetch(`http://127.0.0.1:${port}/mcp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'ping', arguments: {} } }),
        }).then((r) => r.status, () => 0);
      }
      expect(status).toBe(200);
    } finally {
      if (child.pid) process.kill(-child.pid, 'SIGTERM');
      await issuer.close();
    }
  });
});
