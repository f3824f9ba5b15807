import { configDefaults, defineConfig } from 'vitest/config';
import base, { SOAK_FILES } from './vitest.config.js';

/** `npm run test:soak`: the long soak alone, with the same alias, build and timeouts as `npm test`. */
export default defineConfig({
  ...base,
  test: { ...base.test, include: [SOAK_FILES], exclude: [...configDefaults.exclude] },
});
