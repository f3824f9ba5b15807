// Machine clients of the local authorization server: WorkOS M2M applications stand-ins, which get
// tokens through the client_credentials grant (no person, no `sid`, `sub` = the client id, `aud` =
// the environment client id, `org_id` = the application's organization). Their secrets are generated
// on first run into a private file beside the signing keys, never committed; `npm run token --
// --machine <client>` reads them from there.

import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';

export type MachineClient = { clientId: string; clientSecret: string; organizationId: string; name: string };

/** The seeded machine applications (tools/approvals.ts approves the notes example's one). */
export const SEEDED_MACHINES: ReadonlyArray<Omit<MachineClient, 'clientSecret'>> = [
  { clientId: 'client_local_report_job', organizationId: 'org_acme', name: 'Nightly notes report' },
];

const SecretsFile = z.object({ secrets: z.record(z.string().min(1), z.string().min(32)) });

async function readSecrets(path: string): Promise<Record<string, string> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = SecretsFile.safeParse(json);
  if (!parsed.success)
    throw new Error(`local-auth: ${path} is not a machine secrets file; delete it to generate new ones`);
  return parsed.data.secrets;
}

/** The seeded machines with their secrets, generating (and saving, mode 0600) any that is missing. */
export async function loadOrCreateMachineClients(file: string): Promise<MachineClient[]> {
  const path = resolve(file);
  const secrets = { ...(await readSecrets(path)) };
  let changed = false;
  for (const machine of SEEDED_MACHINES) {
    if (secrets[machine.clientId]) continue;
    secrets[machine.clientId] = randomBytes(32).toString('base64url');
    changed = true;
  }
  if (changed) {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, `${JSON.stringify({ secrets }, null, 2)}\n`, { mode: 0o600 });
    await chmod(path, 0o600);
  }
  return SEEDED_MACHINES.map((machine) => ({ ...machine, clientSecret: secrets[machine.clientId] ?? '' }));
}

/** The secret of one seeded machine, for `npm run token -- --machine`; undefined when none was generated yet. */
export async function machineSecret(file: string, clientId: string): Promise<string | undefined> {
  return (await readSecrets(resolve(file)))?.[clientId];
}
