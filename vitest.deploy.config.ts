import { configDefaults, defineConfig } from 'vitest/config';
import base, { DEPLOY_FILES } from './vitest.config.js';

/**
 * `npm run test:deploy`: the deployment rehearsal alone. It runs its own `vercel build` in a scratch
 * copy, so it needs neither npm test's `next build` (no global setup) nor the checkout's `.next`.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    projects: undefined,
    include: [DEPLOY_FILES],
    exclude: [...configDefaults.exclude],
    globalSetup: [],
    // vercel build (next build and its type check) runs in beforeAll.
    hookTimeout: 420_000,
    testTimeout: 60_000,
  },
});
