import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** mcporter (a CLI nobody here wrote) run as a person runs it: in the project directory, with a HOME of the test's. */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN_LIMIT_MS = 60_000;

export type McporterRun = { code: number | null; stdout: string; stderr: string; authorizationUrl?: string };

/**
 * Runs one command line; when mcporter prints the sign-in URL ("visit … manually"), `person`
 * signs in there. Killed after RUN_LIMIT_MS; a person who fails kills it and fails the run.
 */
export function runMcporter(
  line: string[],
  env: Record<string, string>,
  person?: (url: string) => Promise<void>,
): Promise<McporterRun> {
  const [command, ...args] = line;
  return new Promise((resolve, reject) => {
    const child = spawn(command!, args, {
      cwd: PROJECT_ROOT,
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: McporterRun = { code: null, stdout: '', stderr: '' };
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
    child.stdout.on('data', (chunk: Buffer) => (run.stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      run.stderr += chunk.toString();
      const url = /visit (http\S+) manually/.exec(run.stderr)?.[1];
      if (url && !run.authorizationUrl) {
        run.authorizationUrl = url;
        (person ?? (async () => {}))(url).catch((error: unknown) => {
          child.kill('SIGKILL');
          reject(error instanceof Error ? error : new Error(String(error)));
        });
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ...run, code });
    });
  });
}
