import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../scripts/oauth-client/flow';
import { MCP_HEADERS, readRpc, rpc } from '../helpers/app';
import { freePorts, PortInUseError, retryOnPortInUse } from '../helpers/net';
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

  let child: ChildProcess;
  let output = '';
  let keyDir: string;
  const ports = { web: 0, auth: 0, store: 0 };

  function waitFor(pattern: RegExp, limitMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + limitMs;
      const timer = setInterval(() => {
        if (pattern.test(output)) {
          clearInterval(timer);
          resolve();
        } else if (Date.now() > deadline || child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`npm run dev did not print ${pattern} (exit ${child.exitCode}):\n${output.slice(-3000)}`));
        }
      }, 100);
    });
  }

  /** Kills npm run dev's whole process group and waits (bounded) for npm to exit. */
  async function killDev(): Promise<void> {
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      return; // already gone
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  }

  /** One start on three fresh ports; a port taken before its server bound it is a PortInUseError. */
  async function startDev(): Promise<void> {
    [ports.web, ports.auth, ports.store] = (await freePorts(3)) as [number, number, number];
    output = '';
    const { AUTHKIT_DOMAIN: _unset, MCP_RESOURCE_URL: _derived, ...env } = process.env;
    child = spawn('npm', ['run', 'dev'], {
      env: {
        ...env,
        NODE_ENV: 'development',
        NEXT_TELEMETRY_DISABLED: '1',
        PORT: String(ports.web),
        LOCAL_AUTH_PORT: String(ports.auth),
        NOTES_STORAGE_PORT: String(ports.store),
        LOCAL_AUTH_KEY_FILE: join(keyDir, 'keys.json'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so Ctrl-C reaches npm, concurrently and all three servers
    });
    const own = child;
    // Only the current attempt writes to output: a killed one may still flush its pipes.
    const append = (chunk: Buffer) => {
      if (child === own) output += chunk.toString();
    };
    own.stdout?.on('data', append);
    own.stderr?.on('data', append);
    try {
      await waitFor(/\[web\].*Ready/, START_LIMIT_MS);
      await waitFor(/\[auth\].*npm run token/, START_LIMIT_MS);
      await waitFor(/\[store\].*notes store on/, START_LIMIT_MS);
      await waitFor(/\[warm\].*connect an MCP client/, START_LIMIT_MS);
    } catch (error) {
      await killDev();
      const taken = /EADDRINUSE[^\n]*?:(\d+)/.exec(output);
      if (taken) throw new PortInUseError(Number(taken[1]), output.slice(-3000));
      throw error;
    }
  }

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
    if (child?.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(keyDir, { recursive: true, force: true });
  });

  describe('npm run dev', () => {
    it('prints the URL to connect and how to get a token', () => {
      expect(output).toContain(
        `connect an MCP client (e.g. npx @modelcontextprotocol/inspector) to http://localhost:${ports.web}/mcp`,
      );
      expect(output).toMatch(/or get a token for curl: npm run token -- --user alice/);
    });

    it('listens on loopback only: no server of the three is reachable from the network', async () => {
      const listening = await listeningAddresses();
      for (const [name, port] of Object.entries(ports)) {
        const addresses = listening.get(port) ?? [];
        expect(addresses.length, `${name} (:${port}) is not listening`).toBeGreaterThan(0);
        for (const address of addresses)
          expect(LOOPBACK.has(address), `${name} (:${port}) listens on ${address}`).toBe(true);
      }
    });

    it('prints no uncaughtException when clients give up on /mcp after the connect line', async () => {
      const url = `http://localhost:${ports.web}/mcp`;
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
      expect(output).not.toMatch(/uncaughtException|Error: aborted/);
    }, 30_000);

    it('serves a public tool anonymously and a private one with a token from the local authorization server', async () => {
      const url = `http://localhost:${ports.web}/mcp`;
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
        `Bearer resource_metadata="http://localhost:${ports.web}/.well-known/oauth-protected-resource/mcp"`,
      );

      const { accessToken } = await mintToken({
        issuer: `http://localhost:${ports.auth}`,
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

    it('stops all three servers on Ctrl-C', async () => {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      process.kill(-child.pid!, 'SIGINT');
      const code = await Promise.race([
        exited,
        new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 20_000)),
      ]);
      expect(code).not.toBe('timeout');
      for (const port of Object.values(ports)) {
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

  let child: ChildProcess;
  let output = '';
  let keyDir: string;
  const ports = { web: 0, auth: 0, store: 0 };

  function waitFor(pattern: RegExp, limitMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + limitMs;
      const timer = setInterval(() => {
        if (pattern.test(output)) {
          clearInterval(timer);
          resolve();
        } else if (Date.now() > deadline || child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`npm run dev did not print ${pattern} (exit ${child.exitCode}):\n${output.slice(-3000)}`));
        }
      }, 100);
    });
  }

  async function killDev(): Promise<void> {
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      return; // already gone
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  }

  /** The environment `npm run dev` and `npm run token` share here, as a developer's shell would have it. */
  function devEnv(): NodeJS.ProcessEnv {
    const { AUTHKIT_DOMAIN: _unset, MCP_RESOURCE_URL: _derived, LOCAL_AUTH_SCOPES: _all, ...env } = process.env;
    return {
      ...env,
      NODE_ENV: 'development',
      NEXT_TELEMETRY_DISABLED: '1',
      MCP_AUTH_REQUIRED: 'true',
      PORT: String(ports.web),
      LOCAL_AUTH_PORT: String(ports.auth),
      NOTES_STORAGE_PORT: String(ports.store),
      LOCAL_AUTH_KEY_FILE: join(keyDir, 'keys.json'),
    };
  }

  async function startDev(): Promise<void> {
    [ports.web, ports.auth, ports.store] = (await freePorts(3)) as [number, number, number];
    output = '';
    child = spawn('npm', ['run', 'dev'], { env: devEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const own = child;
    const append = (chunk: Buffer) => {
      if (child === own) output += chunk.toString();
    };
    own.stdout?.on('data', append);
    own.stderr?.on('data', append);
    try {
      await waitFor(/\[auth\].*npm run token/, START_LIMIT_MS);
      await waitFor(/\[warm\].*(connect an MCP client|did not answer)/, START_LIMIT_MS);
    } catch (error) {
      await killDev();
      const taken = /EADDRINUSE[^\n]*?:(\d+)/.exec(output);
      if (taken) throw new PortInUseError(Number(taken[1]), output.slice(-3000));
      throw error;
    }
  }

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
    await killDev();
    await rm(keyDir, { recursive: true, force: true });
  });

  describe('npm run dev with MCP_AUTH_REQUIRED=true', () => {
    it('[warm] says /mcp is ready and where to connect, taking the sign-in challenge for an answer', () => {
      expect(output).toMatch(/\[warm\].*\/mcp compiled in [\d.]+ s \(every request needs a token/);
      expect(output).toContain(
        `connect an MCP client (e.g. npx @modelcontextprotocol/inspector) to http://localhost:${ports.web}/mcp`,
      );
      expect(output).not.toMatch(/did not answer/);
    });

    it('answers anonymous requests with the challenge the warm-up looked for', async () => {
      const res = await fetch(`http://localhost:${ports.web}/mcp`, {
        method: 'POST',
        headers: MCP_HEADERS,
        body: rpc('tools/list', {}),
        signal: AbortSignal.timeout(30_000),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(
        `Bearer resource_metadata="http://localhost:${ports.web}/.well-known/oauth-protected-resource/mcp"`,
      );
    });

    it('npm run token, with only PORT and LOCAL_AUTH_PORT set, mints a token /mcp accepts', async () => {
      const { code, stdout, stderr } = await runToken(['--user', 'bob']);
      expect(code, stderr).toBe(0);
      const whoami = await fetch(`http://localhost:${ports.web}/mcp`, {
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
        await fetch(`http://localhost:${ports.web}/.well-known/oauth-protected-resource/mcp`)
      ).json()) as { scopes_supported?: string[] };
      const as = (await (
        await fetch(`http://localhost:${ports.auth}/.well-known/oauth-authorization-server`)
      ).json()) as { scopes_supported: string[] };
      const resourceScopes = as.scopes_supported.filter((s) => !OIDC_SCOPES.includes(s));
      expect(resourceScopes.sort()).toEqual([...(prm.scopes_supported ?? [])].sort());
      // Read from the metadata (the warm-up compiled it before the first sign-in), not the fallback.
      expect(output).not.toMatch(/\[auth\].*cannot read/);
    });
  });
});
