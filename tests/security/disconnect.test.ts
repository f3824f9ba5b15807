import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AuditRecord } from '@/lib/audit/record';
import { loadConfig } from '@/lib/config';
import { createMcpEndpoint } from '@/lib/endpoint/endpoint';
import { createRegistry, defineTool, jsonResult } from '@/lib/registry';
import { MCP_HEADERS } from '../helpers/app';

/**
 * A client that goes away: its abort signal reaches the SDK and the tool, the audit still holds
 * exactly one record per call, and nothing throws where nobody catches it. The endpoint is served
 * in-process over real HTTP on 127.0.0.1 by a tiny adapter that, like a platform, aborts the
 * Request's signal when the connection closes and streams the response as it is produced.
 */
const RESOURCE = 'https://mcp.example.test/mcp';
const events: string[] = [];
let release: (() => void) | undefined;
const registry = createRegistry([
  defineTool({
    name: 'slow',
    title: 'Slow',
    description: 'waits until the request is aborted or 5 s pass',
    access: 'public',
    input: z.object({}),
    handler: async (_args, { signal }) => {
      events.push('started');
      const outcome = await new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve('timeout'), 5_000);
        release = () => (clearTimeout(timer), resolve('released'));
        signal?.addEventListener('abort', () => (clearTimeout(timer), resolve('aborted')), { once: true });
      });
      events.push(outcome);
      return jsonResult({ outcome });
    },
  }),
  defineTool({
    name: 'open',
    title: 'Open',
    description: 'public',
    access: 'public',
    input: z.object({}),
    handler: () => (events.push('open'), jsonResult({ ok: true })),
  }),
]);

const records: AuditRecord[] = [];
const config = loadConfig({
  NODE_ENV: 'production',
  AUTHKIT_DOMAIN: 'https://issuer.example.test',
  MCP_RESOURCE_URL: RESOURCE,
});
const handle = createMcpEndpoint({ registry, config: () => config, auditLine: (record) => records.push(record) });
const problems: string[] = [];
const onUnhandled = (reason: unknown) => problems.push(`unhandledRejection: ${String(reason)}`);
const onUncaught = (error: Error) => problems.push(`uncaughtException: ${error.message}`);

let server: Server;
let port = 0;
beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUncaught);
  server = createServer((req, res) => {
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    const body = Readable.toWeb(req) as ReadableStream<Uint8Array>;
    const request = new Request(`http://127.0.0.1:${port}${req.url}`, {
      method: req.method,
      headers,
      body,
      signal: controller.signal,
      duplex: 'half',
    } as RequestInit);
    void handle(request).then(async (response) => {
      res.writeHead(response.status, Object.fromEntries(response.headers));
      if (!response.body) return void res.end();
      const reader = response.body.getReader();
      try {
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) res.write(chunk.value);
        res.end();
      } catch {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUncaught);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const body = (name: string) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } });
const waitFor = async (condition: () => boolean, ms = 3_000) => {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
};

describe('a client that disconnects', () => {
  it('mid-response: the tool sees the abort, one record, no stray exception', async () => {
    events.length = 0;
    records.length = 0;
    const controller = new AbortController();
    const pending = fetch(`http://127.0.0.1:${port}/mcp`, {
      method: 'POST',
      headers: MCP_HEADERS,
      body: body('slow'),
      signal: controller.signal,
    }).then((response) => response.text());
    await waitFor(() => events.includes('started'));
    expect(events).toEqual(['started']);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await waitFor(() => events.length === 2 && records.length === 1);
    expect(events).toEqual(['started', 'aborted']);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ type: 'tool_call', tool: 'slow', decision: 'allow' });
    expect(problems).toEqual([]);
  });

  it('mid-body: one client_aborted record, no tool runs, no stray exception', async () => {
    events.length = 0;
    records.length = 0;
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        path: '/mcp',
        method: 'POST',
        headers: { ...MCP_HEADERS, 'content-length': '1000' },
      });
      req.on('error', () => resolve());
      req.write('{"jsonrpc":"2.0","id":1,');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100);
    });
    await waitFor(() => records.length === 1);
    expect(records).toEqual([
      expect.objectContaining({ type: 'request_rejected', reason: 'client_aborted', status: 499 }),
    ]);
    expect(events).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('a body stream that fails is answered, not thrown (the endpoint called directly)', async () => {
    records.length = 0;
    const failing = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"jsonrpc":'));
        controller.error(new Error('aborted'));
      },
    });
    const response = await handle(
      new Request(RESOURCE, { method: 'POST', headers: MCP_HEADERS, body: failing, duplex: 'half' } as RequestInit),
    );
    expect(response.status).toBe(499);
    expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } });
    expect(records).toEqual([expect.objectContaining({ reason: 'client_aborted' })]);
  });

  it('the server keeps answering afterwards, and a tool that finishes normally is unaffected', async () => {
    events.length = 0;
    const pending = fetch(`http://127.0.0.1:${port}/mcp`, {
      method: 'POST',
      headers: MCP_HEADERS,
      body: body('slow'),
    }).then((r) => r.text());
    await waitFor(() => events.includes('started'));
    release?.();
    expect(await pending).toContain('released');
    const ok = await fetch(`http://127.0.0.1:${port}/mcp`, {
      method: 'POST',
      headers: MCP_HEADERS,
      body: body('open'),
    });
    expect(ok.status).toBe(200);
    await ok.text();
    expect(problems).toEqual([]);
  });
});
