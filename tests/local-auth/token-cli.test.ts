// @vitest-environment node
import { spawn } from 'node:child_process';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net';
import { RESOURCE, useTestServer } from './helpers';

/** `npm run token` as a user runs it: a child process, stdout is the token and nothing else. */
const testServer = useTestServer();

function runTokenCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Node with tsx's loader, as inventory.test.ts runs its CLI: `npx tsx` would add two processes to each run.
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/token.ts', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
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
});
