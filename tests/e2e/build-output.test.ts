import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { getMiddlewareRouteMatcher } from 'next/dist/shared/lib/router/utils/middleware-route-matcher';
import { describe, expect, it } from 'vitest';
import { freePort, PortInUseError, retryOnPortInUse } from '../helpers/net';
import { TEST_REQUEST_STATE_KEY } from '../helpers/app';
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

  // Evaluated with Next's own matcher code, as `next start` applies it to every request.
  it('the middleware matcher skips only /mcp with a JSON Content-Type', () => {
    const manifest = JSON.parse(readFileSync('.next/server/middleware-manifest.json', 'utf8')) as {
      middleware: Record<string, { matchers: Parameters<typeof getMiddlewareRouteMatcher>[0] }>;
    };
    const matches = getMiddlewareRouteMatcher(manifest.middleware['/']!.matchers);
    // The matcher reads only the headers of Next's request object.
    type NextReq = Parameters<typeof matches>[1];
    const runs = (path: string, contentType?: string) =>
      matches(
        path,
        {
          method: 'POST',
          headers: contentType === undefined ? {} : { 'content-type': contentType },
        } as unknown as NextReq,
        {},
      );
    expect(runs('/mcp', 'application/json')).toBe(false);
    expect(runs('/mcp', 'application/json; charset=utf-8')).toBe(false);
    for (const contentType of [
      undefined,
      'text/plain',
      'Application/JSON',
      'application/json-seq',
      'application/jsonx',
    ])
      expect(runs('/mcp', contentType), String(contentType)).toBe(true);
    for (const path of ['/', '/mcp/', '/mcpx', '/MCP', '/.well-known/oauth-protected-resource/mcp', '/x/mcp'])
      expect(runs(path, 'application/json'), path).toBe(true);
    expect(runs('/_next/static/chunk.js')).toBe(false);
  });

  it('next start refuses to start with a bad environment, naming the variable in one line', async () => {
    const port = await freePort();
    const child = spawn('npx', ['next', 'start', '-H', '127.0.0.1', '-p', String(port)], {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        AUTHKIT_DOMAIN: '',
        MCP_RESOURCE_URL: 'https://mcp.example.com/mcp',
        PORT: String(port),
      },
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
    const lines = output.split('\n').filter((line) => line.startsWith('[startup]'));
    expect(lines).toEqual([
      '[startup] AUTHKIT_DOMAIN: must be set in production to your AuthKit issuer, e.g. https://your-app.authkit.app',
    ]);
  });

  it('npm start serves /mcp on PORT', async () => {
    const issuer = await startTestIssuer();
    try {
      // A port taken between freePort() and next's bind is retried on a fresh one, never mistaken for ours.
      const status = await retryOnPortInUse(async () => {
        const port = await freePort();
        const child = spawn('npm', ['start', '--', '-H', '127.0.0.1'], {
          env: {
            ...process.env,
            NODE_ENV: 'production',
            PORT: String(port),
            AUTHKIT_DOMAIN: issuer.issuer,
            MCP_RESOURCE_URL: `http://127.0.0.1:${port}/mcp`,
            MCP_REQUEST_STATE_KEY: TEST_REQUEST_STATE_KEY,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        try {
          for (let i = 0; i < 200 && !/Ready in/.test(output); i++) {
            if (child.exitCode !== null)
              throw /EADDRINUSE/.test(output)
                ? new PortInUseError(port, output)
                : new Error(`npm start exited:\n${output}`);
            await new Promise((r) => setTimeout(r, 150));
          }
          return await fetch(`http://127.0.0.1:${port}/mcp`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
            body: JSON.stringify({
              jsonrpc: '2.0',
              id: 1,
              method: 'tools/call',
              params: { name: 'ping', arguments: {} },
            }),
            signal: AbortSignal.timeout(20_000),
          }).then((r) => r.status);
        } finally {
          if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
        }
      });
      expect(status).toBe(200);
    } finally {
      await issuer.close();
    }
  });
});
