import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

/** Files `npm test` leaves out: the soak runs on its own (`npm run test:soak`, vitest.soak.config.ts). */
export const SOAK_FILES = 'tests/soak/**/*.test.ts';
/** Runs that wait on real clocks (token expiry), run with the soak: `npm run test:soak`. */
export const SLOW_FILES = 'tests/slow/**/*.test.ts';
/** The deployment rehearsal (`npm run test:deploy`, vitest.deploy.config.ts): its own vercel build, too slow for npm test. */
export const DEPLOY_FILES = 'tests/deploy/**/*.test.ts';

/** Run without per-file isolation (see `projects` below). */
const SHARED_FILES = ['tests/unit/**/*.test.ts', 'tests/security/**/*.test.ts'];
/** Files under SHARED_FILES that set process-wide state (the environment, the global tracer provider). */
const ISOLATED_ANYWAY = ['tests/unit/traces.test.ts'];
const ALL_FILES = ['tests/**/*.test.ts', 'tools/**/*.test.ts'];
const EXCLUDED = [...configDefaults.exclude, SOAK_FILES, SLOW_FILES, DEPLOY_FILES];

export default defineConfig({
  resolve: { alias: { '@': fileURLToPath(new URL('./', import.meta.url)) } },
  test: {
    // Builds the app once (next build) for the tests that run it with next start.
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores: app servers started by e2e files compete with the build otherwise.
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      // Files that build what they test from explicit arguments (no process.env, no module mocks) share
      // their workers' module graph: importing the SDK, jose and lib once per worker instead of once per
      // file is about a fifth of npm test's wall time. A file there that changes process-wide state
      // (stubs the environment, mocks a module, registers a global provider) is listed in ISOLATED_ANYWAY.
      {
        extends: true,
        test: { name: 'shared', include: SHARED_FILES, exclude: [...EXCLUDED, ...ISOLATED_ANYWAY], isolate: false },
      },
      // tools/: an example's tests live beside it, so removing its folder removes them too.
      { extends: true, test: { name: 'isolated', include: ALL_FILES, exclude: [...EXCLUDED, ...SHARED_FILES] } },
      { extends: true, test: { name: 'isolated-anyway', include: ISOLATED_ANYWAY } },
    ],
  },
});
