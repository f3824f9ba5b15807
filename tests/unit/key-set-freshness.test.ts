import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifierFor } from '@/lib/auth/authenticate';
import { loadConfig } from '@/lib/config';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';

/**
 * A signing key the issuer removed from its key set stops verifying within the revocation
 * freshness, not jose's default 10 minutes: the key set and the verified-token cache both expire
 * with it. Against a key set served over HTTP on loopback.
 */
const RESOURCE = 'http://127.0.0.1:1/mcp';
const FRESHNESS_MS = 300;
let issuer: TestIssuer;

beforeAll(async () => {
  issuer = await startTestIssuer();
});
afterAll(async () => {
  await issuer?.close();
});

describe('a signing key removed from the key set', () => {
  it('stops verifying once the freshness bound has passed', async () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      AUTHKIT_DOMAIN: issuer.issuer,
      MCP_RESOURCE_URL: RESOURCE,
      MCP_REVOCATION_FRESHNESS_MS: String(FRESHNESS_MS),
    });
    const verify = verifierFor(config);
    const token = await issuer.sign({ aud: RESOURCE });
    expect((await verify(token)).ok).toBe(true);

    issuer.setMode('rotated');
    const removedAt = performance.now();
    let refusedAfter: number | undefined;
    for (let attempt = 0; attempt < 100 && performance.now() - removedAt < 5_000; attempt++) {
      const result = await verify(token);
      if (!result.ok) {
        expect(result).toMatchObject({
          kind: 'invalid_token',
          description: 'The access token was signed with an unknown key',
        });
        refusedAfter = performance.now() - removedAt;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(refusedAfter).toBeDefined();
    expect(refusedAfter).toBeLessThan(FRESHNESS_MS + 250);
  });
});
