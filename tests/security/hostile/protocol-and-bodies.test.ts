import { describe, expect, it } from 'vitest';
import { loadConfig } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { MCP_HEADERS } from '../../helpers/app';
import {
  RESOURCE,
  type Row,
  SDK_ERROR,
  SSE_NOT_FOUND,
  anon,
  call,
  hostileRows,
  issuer,
  lookup,
  ownVerifier,
  post,
  registry,
  useHostileStack,
} from './rows';

/**
 * The hostile matrix, protocol version, malformed bodies.
 * The stack, the vocabulary and the row runner are in ./rows.ts.
 */

const ROWS: Row[] = [
  {
    name: 'unsupported MCP-Protocol-Version on the public tool',
    on: 'endpoint',
    request: () => post(call('open'), { 'mcp-protocol-version': '1999-01-01' }),
    status: 400,
    www: null,
  },
  {
    name: 'unsupported MCP-Protocol-Version on a private tool: authentication first',
    on: 'endpoint',
    request: () => post(call('member'), { 'mcp-protocol-version': '2099-12-31' }),
    status: 401,
    www: anon(),
  },
  {
    name: 'MCP-Protocol-Version with quotes',
    on: 'endpoint',
    request: () => post(call('open'), { 'mcp-protocol-version': '2025-11-25", x="1' }),
    status: 400,
    www: null,
  },
  {
    name: 'malformed JSON',
    on: 'endpoint',
    request: () => post('{"jsonrpc":"2.0","id":1,"method":'),
    status: 400,
    www: null,
    check: SDK_ERROR(-32700),
  },
  { name: 'JSON that is not JSON-RPC', on: 'endpoint', request: () => post({ foo: 1 }), status: 400, www: null },
  { name: 'a bare number', on: 'endpoint', request: () => post('42'), status: 400, www: null },
  { name: 'an empty batch', on: 'endpoint', request: () => post('[]'), status: 400, www: null },
  { name: 'an empty body', on: 'endpoint', request: () => post(''), status: 400, www: null },
  {
    name: 'text/plain body with a private call: authentication first',
    on: 'endpoint',
    request: () => post(call('member'), { 'content-type': 'text/plain' }),
    status: 401,
    www: anon(),
  },
  {
    name: 'tool name with quotes and CR/LF',
    on: 'endpoint',
    request: () => post(call('x", error="evil\r\nSet-Cookie: a=b')),
    status: 200,
    www: null,
    check: SSE_NOT_FOUND('x", error="evil\r\nSet-Cookie: a=b'),
  },
];

useHostileStack(['endpoint']);

hostileRows('Protocol version, malformed bodies', ROWS);

describe('after the hostile rows', () => {
  it('the body limit is decided from a declared Content-Length without reading the body (in-process, body never ends)', async () => {
    const config = loadConfig({ NODE_ENV: 'production', AUTHKIT_DOMAIN: issuer.issuer, MCP_RESOURCE_URL: RESOURCE });
    const handle = createMcpEndpoint({
      registry,
      config: () => config,
      verifier: ownVerifier(),
      directory: () => lookup,
    });
    let pulls = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        pulls += 1;
        controller.enqueue(new Uint8Array(1024));
      },
    });
    const request = new Request(`${RESOURCE}`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, 'content-length': String(1024 * 1024 + 1) },
      body: endless,
      duplex: 'half',
    } as RequestInit);
    const response = await Promise.race([
      handle(request),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the endpoint read the endless body')), 3_000),
      ),
    ]);
    expect(response.status).toBe(413);
    expect(pulls).toBeLessThanOrEqual(1); // the stream's own start-up pull, never a read loop
  });
});
