import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `vercel build` (the pinned CLI) on a scratch copy of the checkout, offline, the way Vercel builds a
 * fresh clone: only git-tracked files, a local project link instead of `vercel pull`. The checkout
 * itself (its `.next`, which npm test uses) is never written.
 */

const CHECKOUT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD_TIMEOUT_MS = 300_000;

/** What `vercel pull` would write; with settings present `vercel build` never asks the API. */
const PROJECT_LINK = { projectId: 'prj_rehearsal', orgId: 'team_rehearsal', settings: { framework: 'nextjs' } };

export type VercelBuild = {
  /** The scratch project's `.vercel/output` (Build Output API v3). */
  outputDir: string;
  /** Everything `vercel build` printed. */
  log: string;
  remove(): void;
};

function copyTrackedFiles(destination: string): void {
  const listed = spawnSync('git', ['ls-files', '-z'], { cwd: CHECKOUT, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const path of listed.stdout.split('\0').filter(Boolean)) {
    const source = join(CHECKOUT, path);
    if (!existsSync(source) && !isSymlink(source)) continue; // deleted in the work tree, not yet committed
    mkdirSync(dirname(join(destination, path)), { recursive: true });
    cpSync(source, join(destination, path), { verbatimSymlinks: true });
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * The checkout's node_modules, hard-linked: Turbopack refuses a node_modules symlink that leads out
 * of the project root, and a real copy is 1 GB. Nothing in the build writes into node_modules.
 * Another filesystem (no hard links) gets a plain copy.
 */
function provideNodeModules(destination: string): void {
  const target = join(destination, 'node_modules');
  const linked = spawnSync('cp', ['-al', join(CHECKOUT, 'node_modules'), target], { encoding: 'utf8' });
  if (linked.status === 0) return;
  rmSync(target, { recursive: true, force: true });
  cpSync(join(CHECKOUT, 'node_modules'), target, { recursive: true, verbatimSymlinks: true });
}

/**
 * vercel.json's installCommand (`npm ci`) would delete and reinstall node_modules from the network;
 * the scratch copy already has what that command installs from the same lockfile, so it is skipped.
 */
function skipInstall(destination: string): void {
  const file = join(destination, 'vercel.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...config, installCommand: '' }, null, 2));
}

function run(cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; log: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(cwd, 'node_modules/.bin/vercel'),
      ['build', '--yes', '--global-config', join(cwd, '.vc-global')],
      {
        cwd,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
      reject(new Error(`vercel build did not finish in ${BUILD_TIMEOUT_MS / 1000} s:\n${log}`));
    }, BUILD_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, log });
    });
  });
}

export async function vercelBuild(): Promise<VercelBuild> {
  const scratch = mkdtempSync(join(tmpdir(), 'vercel-rehearsal-'));
  const remove = () => rmSync(scratch, { recursive: true, force: true });
  try {
    copyTrackedFiles(scratch);
    provideNodeModules(scratch);
    skipInstall(scratch);
    mkdirSync(join(scratch, '.vercel'));
    writeFileSync(join(scratch, '.vercel/project.json'), JSON.stringify(PROJECT_LINK));
    // A clean environment: nothing of the developer's shell (.env values, tokens) reaches the build.
    const env: NodeJS.ProcessEnv = {
      NODE_ENV: 'production', // what @vercel/next sets for next build anyway
      PATH: process.env.PATH,
      HOME: scratch,
      TMPDIR: tmpdir(),
      CI: '1',
      NEXT_TELEMETRY_DISABLED: '1',
      VERCEL_TELEMETRY_DISABLED: '1',
      NO_UPDATE_NOTIFIER: '1',
    };
    const { code, log } = await run(scratch, env);
    if (code !== 0) throw new Error(`vercel build exited with ${code}:\n${log}`);
    return { outputDir: join(scratch, '.vercel/output'), log, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
