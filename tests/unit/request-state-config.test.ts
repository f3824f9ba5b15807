import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { requestStateFor } from '@/lib/endpoint/request-state';
import { createRegistry, defineTool, jsonResult } from '@/lib/registry';
import { MCP_HEADERS, readRpc, rpc } from '../helpers/app';

/** MCP_REQUEST_STATE_KEY and MCP_REQUEST_STATE_TTL_SECONDS, and the production rule for primitives that ask. */
const prod = {
  NODE_ENV: 'production',
  AUTHKIT_DOMAIN: 'https://issuer.example.com',
  MCP_RESOURCE_URL: 'https://mcp.example.com/mcp',
};
const KEY = 'k'.repeat(32);
const base = {
  title: 'T',
  description: 'D',
  access: 'public' as const,
  input: z.object({}),
  handler: () => jsonResult({}),
};
const asking = createRegistry([defineTool({ name: 'asks', ...base, ask: () => undefined })]);
const quiet = createRegistry([defineTool({ name: 'quiet', ...base })]);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('request-state configuration', () => {
  it.each([
    [{ MCP_REQUEST_STATE_KEY: 'k'.repeat(31) }, /MCP_REQUEST_STATE_KEY: must be at least 32 bytes/],
    [
      { MCP_REQUEST_STATE_KEY: KEY, MCP_REQUEST_STATE_TTL_SECONDS: '0' },
      /MCP_REQUEST_STATE_TTL_SECONDS: must be a whole number/,
    ],
    [{ MCP_REQUEST_STATE_KEY: KEY, MCP_REQUEST_STATE_TTL_SECONDS: '3601' }, /MCP_REQUEST_STATE_TTL_SECONDS/],
    [{ MCP_REQUEST_STATE_KEY: KEY, MCP_REQUEST_STATE_TTL_SECONDS: '1.5' }, /MCP_REQUEST_STATE_TTL_SECONDS/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig({ ...prod, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...prod, ...env })).toThrow(message);
  });

  it('counts bytes, not characters, and reads the TTL', () => {
    expect(loadConfig({ ...prod, MCP_REQUEST_STATE_KEY: 'é'.repeat(16) }).requestState.key).toBe('é'.repeat(16));
    expect(loadConfig({ ...prod, MCP_REQUEST_STATE_TTL_SECONDS: '60' }).requestState).toEqual({ ttlSeconds: 60 });
    expect(loadConfig(prod).requestState).toEqual({ ttlSeconds: 300 });
  });

  it('production without a key fails only when some primitive asks', () => {
    expect(() => requestStateFor(loadConfig(prod), asking)).toThrow(/MCP_REQUEST_STATE_KEY: must be set in production/);
    expect(requestStateFor(loadConfig(prod), quiet).ttlSeconds).toBe(300);
    expect(requestStateFor(loadConfig({ ...prod, MCP_REQUEST_STATE_KEY: KEY }), asking).key).toBe(KEY);
    expect(() => requestStateFor(loadConfig({ MCP_RESOURCE_URL: 'http://localhost:3000/mcp' }), asking)).not.toThrow();
  });

  it('the endpoint answers that misconfiguration with the fixed 500, and runs nothing', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const config = loadConfig(prod);
    const endpoint = createMcpEndpoint({ registry: asking, config: () => config });
    const response = await endpoint(
      new Request(prod.MCP_RESOURCE_URL, {
        method: 'POST',
        headers: MCP_HEADERS,
        body: rpc('tools/call', { name: 'asks', arguments: {} }),
      }),
    );
    expect(response.status).toBe(500);
    expect(await readRpc(response)).toMatchObject({ error: { message: 'Server misconfigured' } });
    // The operator learns why from the log (the client only from the fixed message).
    expect(logged).toHaveBeenCalledExactlyOnceWith(
      expect.stringMatching(/^\[config\] MCP_REQUEST_STATE_KEY: must be set/),
    );
  });
});
