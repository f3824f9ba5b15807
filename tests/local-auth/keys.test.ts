// @vitest-environment node
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../../scripts/oauth-client/flow';
import { loadOrCreateSigningKeys } from '../../scripts/local-auth/keys';
import type { LocalAuthServer } from '../../scripts/local-auth/server';
import { RESOURCE, makeTempDir, startTestServer } from './helpers';

let tmp: { dir: string; remove: () => Promise<void> };
const servers: LocalAuthServer[] = [];

beforeAll(async () => {
  tmp = await makeTempDir();
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await tmp?.remove();
});

describe('signing keys', () => {
  it('creates a private RS256 JWKS with mode 0600 and reuses it', async () => {
    const file = join(tmp.dir, 'nested', 'keys.json');
    const first = await loadOrCreateSigningKeys(file);
    expect(first.created).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const [key] = first.jwks.keys;
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(key?.d).toBeTypeOf('string');

    const second = await loadOrCreateSigningKeys(file);
    expect(second.created).toBe(false);
    expect(second.jwks).toEqual(first.jwks);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(first.jwks);
  });

  it('refuses a corrupt key file with a clear message instead of overwriting it', async () => {
    const file = join(tmp.dir, 'corrupt.json');
    await writeFile(file, '{"keys":[{"kty":"oct"}]}');
    await expect(loadOrCreateSigningKeys(file)).rejects.toThrow(/delete it/);
    expect(await readFile(file, 'utf8')).toBe('{"keys":[{"kty":"oct"}]}');
  });

  it('keeps tokens valid across a restart with the same key file', async () => {
    const keyFile = join(tmp.dir, 'restart.json');
    const before = await startTestServer(keyFile);
    servers.push(before);
    const { issuer, port } = before;
    const { accessToken } = await mintToken({ issuer, user: 'alice', resource: RESOURCE });
    await before.close();

    const after = await startTestServer(keyFile, { port });
    servers.push(after);
    expect(after.issuer).toBe(issuer);
    const jwks = createRemoteJWKSet(new URL(`${after.issuer}/oauth2/jwks`));
    const { payload } = await jwtVerify(accessToken, jwks, {
      issuer,
      audience: RESOURCE,
      algorithms: ['RS256'],
    });
    expect(payload.sub).toBe('user_alice');
  });

  it('uses a different key for a different key file', async () => {
    const server = await startTestServer(join(tmp.dir, 'other.json'));
    servers.push(server);
    const other = await startTestServer(join(tmp.dir, 'third.json'));
    servers.push(other);
    const { accessToken } = await mintToken({ issuer: server.issuer, user: 'alice', resource: RESOURCE });
    const jwks = createRemoteJWKSet(new URL(`${other.issuer}/oauth2/jwks`));
    await expect(jwtVerify(accessToken, jwks, { audience: RESOURCE, algorithms: ['RS256'] })).rejects.toThrow();
  });
});
