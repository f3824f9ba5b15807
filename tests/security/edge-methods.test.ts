import { EdgeVM } from '@edge-runtime/vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_HEADERS } from '@/lib/http/origin';
import { bundleForEdge } from '../helpers/edge';
import { auditRecords, TEST_REQUEST_STATE_KEY } from '../helpers/app';

/**
 * Every method and body on the Edge bundle: middleware.ts and app/mcp/route.ts are bundled the way
 * an Edge bundler resolves them and run inside @edge-runtime/vm. Every method a Request can carry
 * gets a JSON 405 with Allow and the security headers from the middleware; TRACE, TRACK and CONNECT
 * cannot even be constructed as a Request there (the Fetch standard forbids them), so no Edge handler
 * ever sees one. A declared Content-Length over the limit is refused without reading the body.
 */
const RESOURCE = 'http://127.0.0.1:3999/mcp';
let code = '';
const reached: string[] = [];

beforeAll(async () => {
  code = await bundleForEdge(
    { contents: `export * as middleware from './middleware'; export * as route from './app/mcp/route';` },
    '__edge',
    reached,
  );
}, 60_000);

/** What the isolates wrote with console.log (the audit lines), kept for the tests instead of printed. */
const logged: string[] = [];

function vm() {
  const env = {
    NODE_ENV: 'production',
    AUTHKIT_DOMAIN: 'https://issuer.example.test',
    MCP_RESOURCE_URL: RESOURCE,
    MCP_REQUEST_STATE_KEY: TEST_REQUEST_STATE_KEY,
  };
  return new EdgeVM({
    extend: (context) => {
      Object.assign(context, { process: { env } });
      context.console = { ...context.console, log: (...args: unknown[]) => logged.push(args.map(String).join(' ')) };
      return context;
    },
    initialCode: code,
  });
}

type Answer = { status: number; headers: Record<string, string>; text: string };
async function run(edge: EdgeVM, expression: string, init: Record<string, unknown>): Promise<Answer> {
  edge.context.__init = init;
  const response = (await edge.evaluate(expression)) as Response;
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return { status: response.status, headers, text: await response.text() };
}
const event = `{ waitUntil: () => {} }`;

describe('methods on the Edge bundle', () => {
  it('bundles without a Node built-in', () => {
    expect(reached).toEqual([]);
  });

  it.each(['GET', 'DELETE', 'PUT', 'PATCH', 'PROPFIND', 'QUERY', 'LOCK', 'M-SEARCH', 'X-CUSTOM'])(
    'middleware: %s /mcp -> 405 JSON with Allow and the security headers',
    async (method) => {
      const edge = vm();
      const answer = await run(edge, `__edge.middleware.middleware(new Request('${RESOURCE}', __init), ${event})`, {
        method,
      });
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe('POST');
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(answer.text)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(answer.headers[name]).toBe(value);
    },
  );

  it('middleware: HEAD -> 405 with Allow; OPTIONS without Origin -> 204 with Allow', async () => {
    const edge = vm();
    const head = await run(edge, `__edge.middleware.middleware(new Request('${RESOURCE}', __init), ${event})`, {
      method: 'HEAD',
    });
    expect(head.status).toBe(405);
    expect(head.headers.allow).toBe('POST');
    const options = await run(edge, `__edge.middleware.middleware(new Request('${RESOURCE}', __init), ${event})`, {
      method: 'OPTIONS',
    });
    expect(options.status).toBe(204);
    expect(options.headers.allow).toBe('OPTIONS, POST');
  });

  it('middleware: POST passes through to the route', async () => {
    const edge = vm();
    const answer = await run(edge, `__edge.middleware.middleware(new Request('${RESOURCE}', __init), ${event})`, {
      method: 'POST',
      body: '{}',
    });
    expect(answer.headers['x-middleware-next']).toBe('1');
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
  });

  it.each(['TRACE', 'TRACK', 'CONNECT'])('%s cannot be made into a Request on the Edge runtime', (method) => {
    const edge = vm();
    edge.context.__method = method;
    expect(() => edge.evaluate(`new Request('${RESOURCE}', { method: __method })`)).toThrow(/method/i);
  });

  it('route: PUT and PATCH exported as JSON 405s for hosts without the middleware', async () => {
    const edge = vm();
    for (const method of ['PUT', 'PATCH', 'GET', 'DELETE']) {
      // Next hands every route handler the request; the front door reads its method and Origin.
      const answer = await run(edge, `__edge.route.${method}(new Request('${RESOURCE}', __init))`, { method });
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe('POST');
    }
  });

  it('route: a declared Content-Length over the limit is refused without reading a body that never ends', async () => {
    const edge = vm();
    logged.length = 0;
    edge.context.__pulls = 0;
    const answer = await Promise.race([
      run(
        edge,
        `(() => {
          const endless = new ReadableStream({ pull: (c) => { globalThis.__pulls++; c.enqueue(new Uint8Array(1024)); } });
          return __edge.route.POST(new Request('${RESOURCE}', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': '${1024 * 1024 + 1}' }, body: endless, duplex: 'half' }));
        })()`,
        {},
      ),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the route read the endless body')), 3_000)),
    ]);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: -32013 } });
    expect(edge.evaluate('globalThis.__pulls')).toBeLessThanOrEqual(1);
    expect(auditRecords(logged.join('\n'))).toEqual([
      expect.objectContaining({ type: 'request_rejected', reason: 'body_too_large', status: 413 }),
    ]);
  });
});
