import { spawnSync } from 'node:child_process';

/** One production build for every e2e file; MCP_TEST_SKIP_BUILD=1 reuses .next while iterating. */
export default function setup(): void {
  if (process.env.MCP_TEST_SKIP_BUILD === '1') return;
  const started = Date.now();
  const result = spawnSync('npx', ['next', 'build'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    timeout: 300_000,
  });
  if (result.status !== 0) {
    throw new Error(`next build failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
  console.log(`[global-setup] next build finished in ${Math.round((Date.now() - started) / 1000)} s`);
}
