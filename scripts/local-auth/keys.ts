// Signing keys for the local authorization server. They are generated once and
// kept in a private JWKS file so access tokens minted before a restart still
// verify afterwards (the MCP server caches the JWKS and tokens live an hour).

import { generateKeyPair } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { calculateJwkThumbprint } from 'jose';
import { z } from 'zod';

const generateRsaKeyPair = promisify(generateKeyPair);

/** Default location, relative to the project root; `.local-auth/` is gitignored. */
export const DEFAULT_KEY_FILE = '.local-auth/keys.json';

const PrivateRsaJwk = z.object({
  kty: z.literal('RSA'),
  kid: z.string().min(1),
  alg: z.literal('RS256'),
  use: z.literal('sig'),
  n: z.string().min(1),
  e: z.string().min(1),
  d: z.string().min(1),
  p: z.string().min(1),
  q: z.string().min(1),
  dp: z.string().min(1),
  dq: z.string().min(1),
  qi: z.string().min(1),
});
export type PrivateRsaJwk = z.infer<typeof PrivateRsaJwk>;

const PrivateJwks = z.object({ keys: z.array(PrivateRsaJwk).min(1) });
export type PrivateJwks = z.infer<typeof PrivateJwks>;

export interface SigningKeys {
  jwks: PrivateJwks;
  file: string;
  /** True when this call generated the file. */
  created: boolean;
}

async function generateSigningKey(): Promise<PrivateRsaJwk> {
  const { privateKey } = await generateRsaKeyPair('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const parsed = PrivateRsaJwk.omit({ kid: true, alg: true, use: true }).parse(jwk);
  // kid = RFC 7638 thumbprint: deterministic and unique per key.
  const kid = await calculateJwkThumbprint({ kty: 'RSA', n: parsed.n, e: parsed.e });
  return { ...parsed, kid, alg: 'RS256', use: 'sig' };
}

function parseKeyFile(file: string, text: string): PrivateJwks {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`local-auth: ${file} is not valid JSON; delete it to generate new signing keys`);
  }
  const result = PrivateJwks.safeParse(json);
  if (!result.success) {
    throw new Error(`local-auth: ${file} is not a private RS256 JWKS; delete it to generate new signing keys`);
  }
  return result.data;
}

function isErrnoException(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}

/**
 * Reads the private JWKS at `file`, creating it (mode 0600, directory 0700)
 * when it does not exist yet. Creation uses an exclusive open, so two servers
 * starting at once still end up sharing one key.
 */
export async function loadOrCreateSigningKeys(file: string = DEFAULT_KEY_FILE): Promise<SigningKeys> {
  const path = resolve(file);
  try {
    return { jwks: parseKeyFile(path, await readFile(path, 'utf8')), file: path, created: false };
  } catch (error) {
    if (!isErrnoException(error, 'ENOENT')) throw error;
  }

  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const jwks: PrivateJwks = { keys: [await generateSigningKey()] };
  try {
    await writeFile(path, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if (!isErrnoException(error, 'EEXIST')) throw error;
    // Another process won the race: use its key so both sign with the same one.
    return { jwks: parseKeyFile(path, await readFile(path, 'utf8')), file: path, created: false };
  }
  // `mode` is filtered through the umask; make sure the private key is 0600.
  await chmod(path, 0o600);
  return { jwks, file: path, created: true };
}
