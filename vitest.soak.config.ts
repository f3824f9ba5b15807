import { configDefaults, defineConfig } from 'vitest/config';
import base, { SLOW_FILES, SOAK_FILES } from './vitest.config.js';

/**
 * `npm run test:soak`: the long runs `npm test` leaves out (the soak, and client records that wait
 * for a token to expire), with the same alias, build and timeouts as `npm test`.
 */
export default defineConfig({
  ...base,
  test: { ...base.test, projects: undefined, include: [SOAK_FILES, SLOW_FILES], exclude: [...configDefaults.exclude] },
});
