// @vitest-environment node
import { spawn } from 'node:child_process';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { DEV_ENVIRONMENT_CLIENT_ID } from '@/lib/config';
import { registry } from '@/tools';
import { SEEDED_MACHINES } from '../../scripts/local-auth/machines';
import { freePort } from '../helpers/net';
import { RESOURCE, SCOPES, makeTempDir, startTestServer, useTestServer } from './helpers';

/** `npm run token` as a user runs it: a child process, stdout is the token and nothing else. */
const MACHINE = { ...(SEEDED_MACHINES[0] ?? { clientId: 'none', organizationId: 'none', name: 'none' }) };
const MACHINE_SECRET = `secret-${crypto.randomUUID()}`;
const testServer = useTestServer({ machineClients: [{ ...MACHINE, clientSecret: MACHINE_SECRET }] });

function runTokenCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // Only what a test sets decides the defaults, not the runner's environment.
  const { MCP_RESOURCE_URL: _r, LOCAL_AUTH_ISSUER: _i, LOCAL_AUTH_PORT: _a, PORT: _p, ...inherited } = process.env;
  return new Promise((resolve) => {
    // Node with tsx's loader, as inventory.test.ts runs its CLI: `npx tsx` would add two processes to each run.
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/token.ts', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...inherited, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run token', () => {
  it('--machine prints a WorkOS-shaped machine token from the client_credentials grant', async () => {
    const tmp = await makeTempDir();
    try {
      const file = join(tmp.dir, 'machine-clients.json');
      await writeFile(file, JSON.stringify({ secrets: { [MACHINE.clientId]: MACHINE_SECRET } }));
      const args = ['--machine', MACHINE.clientId, '--issuer', testServer().issuer, '--resource', RESOURCE];
      const { code, stdout, stderr } = await runTokenCli(args, { LOCAL_AUTH_MACHINES_FILE: file });
      expect(code, stderr).toBe(0);
      const { payload } = await jwtVerify(
        stdout.trim(),
        createRemoteJWKSet(new URL(`${testServer().issuer}/oauth2/jwks`)),
        {
          issuer: testServer().issuer,
          audience: DEV_ENVIRONMENT_CLIENT_ID,
          algorithms: ['RS256'],
        },
      );
      // Its scopes default to the client's approval, when tools/approvals.ts lists it.
      const approved = registry.approvals.find((a) => a.clientId === MACHINE.clientId)?.scopes ?? SCOPES;
      expect(payload).toMatchObject({
        sub: MACHINE.clientId,
        client_id: MACHINE.clientId,
        org_id: MACHINE.organizationId,
      });
      expect(String(payload.scope).split(' ').sort()).toEqual([...approved].sort());
      expect(payload.sid).toBeUndefined();

      const wrong = await runTokenCli(args, { LOCAL_AUTH_MACHINES_FILE: join(tmp.dir, 'missing.json') });
      expect(wrong.code).toBe(1);
      expect(wrong.stdout).toBe('');
      expect(wrong.stderr).toMatch(/no secret for/);
    } finally {
      await tmp.remove();
    }
  });

  it('prints only a verifiable access token for the user, organization, scopes and resource asked for', async () => {
    const { code, stdout } = await runTokenCli([
      '--user',
      'bob',
      '--scope',
      'notes:read',
      '--issuer',
      testServer().issuer,
      '--resource',
      RESOURCE,
    ]);
    expect(code).toBe(0);
    const token = stdout.trim();
    expect(stdout).toBe(`${token}\n`);
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${testServer().issuer}/oauth2/jwks`)), {
      issuer: testServer().issuer,
      audience: RESOURCE,
      algorithms: ['RS256'],
    });
    expect(payload).toMatchObject({ sub: 'user_bob', org_id: 'org_acme', scope: 'notes:read' });
  });

  it('refuses an organization the user is not a member of, on stderr, exit 1', async () => {
    const { code, stdout, stderr } = await runTokenCli([
      '--user',
      'bob',
      '--org',
      'org_globex',
      '--issuer',
      testServer().issuer,
    ]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('bob is not a member of org_globex');
  });

  it('says how to start the server when nothing listens at the issuer', async () => {
    const issuer = `http://127.0.0.1:${await freePort()}`;
    const { code, stderr } = await runTokenCli(['--user', 'alice', '--issuer', issuer]);
    expect(code).toBe(1);
    expect(stderr).toContain(`cannot reach the local auth server at ${issuer}`);
    expect(stderr).toContain('npm run dev');
  });

  it("defaults to npm run dev's resource and issuer: http://localhost:$PORT/mcp at http://localhost:$LOCAL_AUTH_PORT", async () => {
    const tmp = await makeTempDir();
    const webPort = await freePort();
    const resource = `http://localhost:${webPort}/mcp`;
    // Serves only that resource: a token for any other (the old fixed :3000 default) is refused.
    const server = await startTestServer(join(tmp.dir, 'keys.json'), { resources: [resource], scopes: ['tool:read'] });
    try {
      const { code, stdout, stderr } = await runTokenCli(['--user', 'alice'], {
        PORT: String(webPort),
        LOCAL_AUTH_PORT: String(server.port),
      });
      expect(code, stderr).toBe(0);
      const { payload } = await jwtVerify(stdout.trim(), createRemoteJWKSet(new URL(`${server.issuer}/oauth2/jwks`)), {
        issuer: server.issuer,
        audience: resource,
      });
      expect(payload).toMatchObject({ sub: 'user_alice', scope: 'tool:read' });
    } finally {
      await server.close();
      await tmp.remove();
    }
  });

  it('says which scope is not offered when a sign-in for it ends in access_denied', async () => {
    const { code, stderr } = await runTokenCli([
      '--user',
      'alice',
      '--scope',
      'nothing:offers-this',
      '--issuer',
      testServer().issuer,
      '--resource',
      RESOURCE,
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain('access_denied');
    expect(stderr).toContain('not offered by');
    expect(stderr).toContain('nothing:offers-this');
  });
});
