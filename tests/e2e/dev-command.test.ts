import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../scripts/oauth-client/flow';
import { MCP_HEADERS, readRpc, rpc } from '../helpers/app';
import { DevCommand } from '../helpers/dev-command';
import { retryOnPortInUse } from '../helpers/net';
import { OIDC_SCOPES } from '../../scripts/local-auth/oidc-scopes';

// Two `npm run dev`s, one after the other: Next.js refuses a second next dev in the same directory,
// so they share a file (vitest runs a file's suites in order, each stopping its own before the next).
describe('npm run dev as the README gives it', () => {
  /**
   * The README's first command as a newcomer runs it: `npm run dev`, no WorkOS account, no AUTHKIT_DOMAIN.
   * It must print where to connect and how to get a token, serve public and private tools with a token
   * from its own local authorization server, and stop everything on Ctrl-C. Ports are free ones (the
   * three *_PORT variables) so the test never collides with a developer's running `npm run dev`.
   */
  const START_LIMIT_MS = 90_000;

  const dev = new DevCommand();
  let keyDir: string;

  const startDev = () =>
    dev.start(
      (ports) => {
        const { AUTHKIT_DOMAIN: _unset, MCP_RESOURCE_URL: _derived, ...env } = process.env;
        return {
          ...env,
          NODE_ENV: 'development',
          NEXT_TELEMETRY_DISABLED: '1',
          PORT: String(ports.web),
          LOCAL_AUTH_PORT: String(ports.auth),
          NOTES_STORAGE_PORT: String(ports.store),
          LOCAL_AUTH_KEY_FILE: join(keyDir, 'keys.json'),
        };
      },
      [/\[web\].*Ready/, /\[auth\].*npm run token/, /\[store\].*notes store on/, /\[warm\].*connect an MCP client/],
      START_LIMIT_MS,
    );

  // Local addresses as /proc/net/tcp{,6} spell them (hex, little-endian words): 127.0.0.1 and ::1.
  const LOOPBACK = new Set(['0100007F', '00000000000000000000000001000000']);

  /** port -> the local addresses of the LISTEN sockets on it, from the kernel's socket tables. */
  async function listeningAddresses(): Promise<Map<number, string[]>> {
    const byPort = new Map<number, string[]>();
    for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
      for (const line of (await readFile(table, 'utf8')).split('\n').slice(1)) {
        const [, local, , state] = line.trim().split(/\s+/);
        if (!local || state !== '0A') continue; // 0A = LISTEN
        const [address = '', portHex = ''] = local.split(':');
        const port = parseInt(portHex, 16);
        byPort.set(port, [...(byPort.get(port) ?? []), address]);
      }
    }
    return byPort;
  }

  beforeAll(
    async () => {
      keyDir = await mkdtemp(join(tmpdir(), 'dev-command-'));
      // Three attempts: a failed one costs a few seconds, each would need another process to take a port.
      await retryOnPortInUse(startDev, 3);
    },
    3 * START_LIMIT_MS + 10_000,
  );

  afterAll(async () => {
    await dev.kill();
    await rm(keyDir, { recursive: true, force: true });
  });

  describe('npm run dev', () => {
    it('prints the URL to connect and how to get a token', () => {
      expect(dev.output).toContain(
        `connect an MCP client (e.g. npx @modelcontextprotocol/inspector) to http://localhost:${dev.ports.web}/mcp`,
      );
      expect(dev.output).toMatch(/or get a token for curl: npm run token -- --user alice/);
    });

    it('listens on loopback only: no server of the three is reachable from the network', async () => {
      const listening = await listeningAddresses();
      for (const [name, port] of Object.entries(dev.ports)) {
        const addresses = listening.get(port) ?? [];
        expect(addresses.length, `${name} (:${port}) is not listening`).toBeGreaterThan(0);
        for (const address of addresses)
          expect(LOOPBACK.has(address), `${name} (:${port}) listens on ${address}`).toBe(true);
      }
    });

    it('prints no uncaughtException when clients give up on /mcp after the connect line', async () => {
      const url = `http://localhost:${dev.ports.web}/mcp`;
      // Spread over the seconds a cold compile takes, so without the warm-up some would abort mid-compile.
      await Promise.all(
        [500, 1000, 1500, 2000, 2500, 3000, 4000].map((ms, i) =>
          fetch(url, {
            method: 'POST',
            headers: MCP_HEADERS,
            body: rpc('tools/call', { name: 'ping', arguments: {} }, i),
            signal: AbortSignal.timeout(ms),
          }).then(
            (res) => res.body?.cancel(),
            () => undefined,
          ),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(dev.output).not.toMatch(/uncaughtException|Error: aborted/);
    }, 30_000);

    it('serves a public tool anonymously and a private one with a token from the local authorization server', async () => {
      const url = `http://localhost:${dev.ports.web}/mcp`;
      // next dev compiles the route on its first request.
      const ping = await fetch(url, {
        method: 'POST',
        headers: MCP_HEADERS,
        body: rpc('tools/call', { name: 'ping', arguments: {} }),
        signal: AbortSignal.timeout(60_000),
      });
      expect(ping.status).toBe(200);

      const anonymous = await fetch(url, {
        method: 'POST',
        headers: MCP_HEADERS,
        body: rpc('tools/call', { name: 'whoami', arguments: {} }),
      });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe(
        `Bearer resource_metadata="http://localhost:${dev.ports.web}/.well-known/oauth-protected-resource/mcp"`,
      );

      const { accessToken } = await mintToken({
        issuer: `http://localhost:${dev.ports.auth}`,
        user: 'user_bob',
        org: 'org_acme',
        resource: url,
      });
      const whoami = await fetch(url, {
        method: 'POST',
        headers: { ...MCP_HEADERS, authorization: `Bearer ${accessToken}` },
        body: rpc('tools/call', { name: 'whoami', arguments: {} }),
      });
      expect(whoami.status).toBe(200);
      expect(await readRpc(whoami)).toMatchObject({
        result: { structuredContent: { subject: 'user_bob', organizationId: 'org_acme' } },
      });
    }, 90_000);

    it("npm run revoke takes a user's access back: a signed webhook to next dev, whose /mcp refuses the token within a second or two", async () => {
      const url = `http://localhost:${dev.ports.web}/mcp`;
      const { accessToken } = await mintToken({
        issuer: `http://localhost:${dev.ports.auth}`,
        user: 'user_carol',
        org: 'org_globex',
        resource: url,
      });
      const whoami = () =>
        fetch(url, {
          method: 'POST',
          headers: { ...MCP_HEADERS, authorization: `Bearer ${accessToken}` },
          body: rpc('tools/call', { name: 'whoami', arguments: {} }),
          signal: AbortSignal.timeout(30_000),
        }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        });
      expect(await whoami()).toBe(200);
      const revoke = spawn('npm', ['run', '-s', 'revoke', '--', '--user', 'carol'], {
        env: { ...process.env, LOCAL_AUTH_PORT: String(dev.ports.auth) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let printed = '';
      revoke.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => revoke.kill('SIGKILL'), 80_000);
        revoke.once('exit', (exit) => {
          clearTimeout(timer);
          resolve(exit);
        });
      });
      expect(code).toBe(0);
      // One organization_membership.deleted for carol's one membership, accepted by /webhooks/workos.
      expect(JSON.parse(printed)).toMatchObject({ webhooks: [{ status: 200 }] });
      let status = 200;
      for (let attempt = 0; attempt < 30 && status === 200; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        status = await whoami();
      }
      expect(status).toBe(401);
    }, 120_000);

    it('stops all three servers on Ctrl-C', async () => {
      const exited = new Promise<number | null>((resolve) => dev.child!.once('exit', (code) => resolve(code)));
      process.kill(-dev.child!.pid!, 'SIGINT');
      const code = await Promise.race([
        exited,
        new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 20_000)),
      ]);
      expect(code).not.toBe('timeout');
      for (const port of Object.values(dev.ports)) {
        await expect(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
      }
    }, 30_000);
  });
});

describe('npm run dev with MCP_AUTH_REQUIRED=true', () => {
  /**
   * `npm run dev` with MCP_AUTH_REQUIRED=true, on ports other than the defaults: the warm-up reports
   * /mcp ready although every request to it is answered with the sign-in challenge, `npm run token`
   * follows PORT and LOCAL_AUTH_PORT to a token /mcp accepts, and the authorization server offers
   * what next dev's resource metadata lists. The warm-up's own limit is 180 s, longer than this
   * file waits, so a warm-up that does not take the challenge for an answer fails here.
   */
  const START_LIMIT_MS = 120_000;

  const dev = new DevCommand();
  let keyDir: string;

  /** The environment `npm run dev` and `npm run token` share here, as a developer's shell would have it. */
  function devEnv(): NodeJS.ProcessEnv {
    const { AUTHKIT_DOMAIN: _unset, MCP_RESOURCE_URL: _derived, LOCAL_AUTH_SCOPES: _all, ...env } = process.env;
    return {
      ...env,
      NODE_ENV: 'development',
      NEXT_TELEMETRY_DISABLED: '1',
      MCP_AUTH_REQUIRED: 'true',
      PORT: String(dev.ports.web),
      LOCAL_AUTH_PORT: String(dev.ports.auth),
      NOTES_STORAGE_PORT: String(dev.ports.store),
      LOCAL_AUTH_KEY_FILE: join(keyDir, 'keys.json'),
    };
  }

  const startDev = () =>
    dev.start(
      () => devEnv(),
      [/\[auth\].*npm run token/, /\[warm\].*(connect an MCP client|did not answer)/],
      START_LIMIT_MS,
    );

  function runToken(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const token = spawn('npm', ['run', '-s', 'token', '--', ...args], {
        env: devEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      token.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      token.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => token.kill('SIGKILL'), 60_000);
      token.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  beforeAll(
    async () => {
      keyDir = await mkdtemp(join(tmpdir(), 'dev-auth-required-'));
      await retryOnPortInUse(startDev, 3);
    },
    3 * 2 * START_LIMIT_MS + 10_000,
  );

  afterAll(async () => {
    await dev.kill();
    await rm(keyDir, { recursive: true, force: true });
  });

  describe('npm run dev with MCP_AUTH_REQUIRED=true', () => {
    it('[warm] says /mcp is ready and where to connect, taking the sign-in challenge for an answer', () => {
      expect(dev.output).toMatch(/\[warm\].*\/mcp compiled in [\d.]+ s \(every request needs a token/);
      expect(dev.output).toContain(
        `connect an MCP client (e.g. npx @modelcontextprotocol/inspector) to http://localhost:${dev.ports.web}/mcp`,
      );
      expect(dev.output).not.toMatch(/did not answer/);
    });

    it('answers anonymous requests with the challenge the warm-up looked for', async () => {
      const res = await fetch(`http://localhost:${dev.ports.web}/mcp`, {
        method: 'POST',
        headers: MCP_HEADERS,
        body: rpc('tools/list', {}),
        signal: AbortSignal.timeout(30_000),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(
        `Bearer resource_metadata="http://localhost:${dev.ports.web}/.well-known/oauth-protected-resource/mcp"`,
      );
    });

    it('npm run token, with only PORT and LOCAL_AUTH_PORT set, mints a token /mcp accepts', async () => {
      const { code, stdout, stderr } = await runToken(['--user', 'bob']);
      expect(code, stderr).toBe(0);
      const whoami = await fetch(`http://localhost:${dev.ports.web}/mcp`, {
        method: 'POST',
        headers: { ...MCP_HEADERS, authorization: `Bearer ${stdout.trim()}` },
        body: rpc('tools/call', { name: 'whoami', arguments: {} }),
        signal: AbortSignal.timeout(60_000),
      });
      expect(whoami.status).toBe(200);
      expect(await readRpc(whoami)).toMatchObject({ result: { structuredContent: { subject: 'user_bob' } } });
      // The token helper's registration was kept beside the signing key, readable by its owner only.
      expect((await stat(join(keyDir, 'clients.json'))).mode & 0o777).toBe(0o600);
    }, 90_000);

    it("offers the scopes next dev's protected resource metadata lists", async () => {
      const prm = (await (
        await fetch(`http://localhost:${dev.ports.web}/.well-known/oauth-protected-resource/mcp`)
      ).json()) as { scopes_supported?: string[] };
      const as = (await (
        await fetch(`http://localhost:${dev.ports.auth}/.well-known/oauth-authorization-server`)
      ).json()) as { scopes_supported: string[] };
      const resourceScopes = as.scopes_supported.filter((s) => !OIDC_SCOPES.includes(s));
      expect(resourceScopes.sort()).toEqual([...(prm.scopes_supported ?? [])].sort());
      // Read from the metadata (the warm-up compiled it before the first sign-in), not the fallback.
      expect(dev.output).not.toMatch(/\[auth\].*cannot read/);
    });
  });
});
