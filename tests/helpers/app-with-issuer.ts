import { afterAll, beforeAll } from 'vitest';
import { type RunningApp, startApp } from './app';
import { startTestIssuer, type TestIssuer } from './issuer';

export type AppWithIssuer = { issuer: TestIssuer; app: RunningApp; endpoint: string };

/**
 * A test file's stack: a test issuer and the built app (`next start`) trusting it, started before
 * the file's tests and stopped after them. Read the fields inside tests (they are set in beforeAll).
 * `env` may be a function, for values known only once other servers of the file started.
 */
export function useAppWithIssuer(env: Record<string, string> | (() => Record<string, string>) = {}): AppWithIssuer {
  const stack = {} as AppWithIssuer;
  beforeAll(async () => {
    stack.issuer = await startTestIssuer();
    stack.app = await startApp({ AUTHKIT_DOMAIN: stack.issuer.issuer, ...(typeof env === 'function' ? env() : env) });
    stack.endpoint = `${stack.app.url}/mcp`;
  });
  afterAll(async () => {
    await stack.app?.stop();
    await stack.issuer?.close();
  });
  return stack;
}
