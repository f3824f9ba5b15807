import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '@/lib/config';
import { AS_METADATA_RETRY_MS, authorizationServerMetadata } from '@/lib/metadata';
import { listen, type Listening } from '../helpers/net';

/** The /.well-known/oauth-authorization-server mirror's cache, against an issuer on 127.0.0.1. */
let issuer: Listening;
let config: Config;
let mode: 'down' | 'up' | 'foreign' = 'down';
let requests = 0;

beforeAll(async () => {
  issuer = await listen((_req, res) => {
    requests += 1;
    if (mode === 'down') return void res.writeHead(502).end('down');
    const body = {
      issuer: mode === 'up' ? issuer.url : 'https://evil.example',
      registration_endpoint: `${issuer.url}/oauth2/register`,
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  config = loadConfig({ AUTHKIT_DOMAIN: issuer.url });
});
afterAll(async () => issuer?.close());

describe('authorization server metadata mirror', () => {
  it('refuses a document that names another issuer, and remembers the failure', async () => {
    mode = 'foreign';
    requests = 0;
    expect(await authorizationServerMetadata(config, fetch, () => 1_000_000)).toBeUndefined();
    expect(requests).toBe(1);
  });

  it('remembers a failure for the Retry-After period, then asks again and caches the answer', async () => {
    mode = 'down';
    requests = 0;
    let t = 2_000_000;
    expect(await authorizationServerMetadata(config, fetch, () => t)).toBeUndefined();
    expect(await authorizationServerMetadata(config, fetch, () => t + 1)).toBeUndefined();
    expect(requests).toBe(1); // an outage is not multiplied by every client retrying here

    mode = 'up';
    t += AS_METADATA_RETRY_MS;
    expect(await authorizationServerMetadata(config, fetch, () => t)).toMatchObject({ issuer: issuer.url });
    expect(await authorizationServerMetadata(config, fetch, () => t + 60_000)).toMatchObject({ issuer: issuer.url });
    expect(requests).toBe(2);
  });
});
