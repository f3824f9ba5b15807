import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config';
import { CALLER_FILTERED_METHODS, cacheHintsFor, withNoStore } from '../../lib/wire/cache';

describe('cacheHintsFor', () => {
  it('never makes a caller-filtered result public, for any allowed TTL', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300_000 }), (ttl) => {
        const hints = cacheHintsFor(ttl);
        for (const method of CALLER_FILTERED_METHODS) expect(hints[method]?.cacheScope).toBe('private');
        expect(hints['tools/list']?.ttlMs).toBe(ttl);
      }),
    );
  });

  it('chooses a hint for every cacheable method (nothing left to the SDK default)', () => {
    expect(Object.keys(cacheHintsFor(1)).sort()).toEqual([
      'prompts/list',
      'resources/list',
      'resources/read',
      'resources/templates/list',
      'server/discover',
      'tools/list',
    ]);
  });
});

describe('MCP_LIST_TTL_MS', () => {
  it.each([
    [undefined, 30_000],
    ['0', 0],
    ['5000', 5000],
  ])('%s -> %i', (raw, ttl) => expect(loadConfig({ MCP_LIST_TTL_MS: raw }).listTtlMs).toBe(ttl));

  it.each(['-1', '300001', '1.5', 'soon'])('refuses %s, naming the variable', (raw) =>
    expect(() => loadConfig({ MCP_LIST_TTL_MS: raw })).toThrow(/^MCP_LIST_TTL_MS: /),
  );
});

describe('withNoStore', () => {
  it('adds no-store and keeps status, body and other headers', async () => {
    const response = withNoStore(
      new Response('{"a":1}', {
        status: 201,
        headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=60' },
      }),
    );
    expect(response.status).toBe(201);
    expect(response.headers.get('cache-control')).toBe('public, max-age=60, no-store');
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.text()).toBe('{"a":1}');
  });
  it('keeps the SDK stream directives (no-transform stops compression of SSE)', () => {
    const sse = withNoStore(new Response('', { headers: { 'cache-control': 'no-cache, no-transform' } }));
    expect(sse.headers.get('cache-control')).toBe('no-cache, no-transform, no-store');
  });
  it('copies a response whose headers are immutable', async () => {
    const immutable = Response.redirect('https://example.com/', 302);
    const response = withNoStore(immutable);
    expect(response.status).toBe(302);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });
  it('leaves a response that already says no-store alone', () => {
    const original = new Response('', { headers: { 'cache-control': 'private, no-store' } });
    expect(withNoStore(original)).toBe(original);
  });
});
