import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { SignJWT, type CryptoKey, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { z } from 'zod';
import type { AuditRecord } from '@/lib/audit/record';
import { createRegistry, defineTool, jsonResult } from '@/lib/registry';
import type { Access } from '@/lib/policy';

/**
 * Shared pieces of the security tests: a raw HTTP client (repeated headers, forged Host, chunked
 * bodies: things fetch will not send), hand-built JWS tokens, a fixture registry whose handlers
 * count every run, and the checks every error answer must pass.
 */

// ---------------------------------------------------------------------------------------------
// Raw HTTP
// ---------------------------------------------------------------------------------------------
export type RawRequest = {
  method?: string;
  /** Path and query, sent as is (no normalization). Default /mcp. */
  path?: string;
  /** An array value is sent as repeated header lines. A `host` entry replaces the real Host. */
  headers?: Record<string, string | string[]>;
  body?: string | Uint8Array;
  /** Send the body with Transfer-Encoding: chunked in 64 KiB pieces, no Content-Length. */
  chunked?: boolean;
  timeoutMs?: number;
};

export type RawResponse = { status: number; headers: IncomingHttpHeaders; text: string; ms: number };

export function rawRequest(baseUrl: string, spec: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const headers: Record<string, string | string[]> = { ...(spec.headers ?? {}) };
  const customHost = Object.keys(headers).some((name) => name.toLowerCase() === 'host');
  const body = typeof spec.body === 'string' ? Buffer.from(spec.body) : spec.body ? Buffer.from(spec.body) : undefined;
  if (spec.chunked) headers['transfer-encoding'] = 'chunked';
  else if (body && !Object.keys(headers).some((n) => n.toLowerCase() === 'content-length'))
    headers['content-length'] = String(body.length);
  const started = Date.now();
  return new Promise<RawResponse>((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: spec.path ?? '/mcp',
        method: spec.method ?? 'POST',
        headers,
        setHost: !customHost,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
            ms: Date.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(spec.timeoutMs ?? 15_000, () =>
      req.destroy(new Error(`no answer within ${spec.timeoutMs ?? 15_000} ms`)),
    );
    req.on('error', reject);
    if (body && spec.chunked) {
      for (let offset = 0; offset < body.length; offset += 65_536) req.write(body.subarray(offset, offset + 65_536));
      req.end();
    } else {
      req.end(body);
    }
  });
}

export const header = (response: RawResponse, name: string): string | null => {
  const value = response.headers[name.toLowerCase()];
  return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
};

/** The JSON-RPC message of a JSON or single/multi-event SSE body (the last event for SSE). */
export function rpcBody(response: RawResponse): unknown {
  if ((header(response, 'content-type') ?? '').includes('text/event-stream')) {
    const data = response.text
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trim());
    return JSON.parse(data.pop() ?? 'null');
  }
  return JSON.parse(response.text);
}

// ---------------------------------------------------------------------------------------------
// What an error answer may never contain
// ---------------------------------------------------------------------------------------------
/** A stack frame ("at fn (file:1:2)"), a TypeScript source location, a dependency or checkout path. */
export const LEAK = /\bat \S+ \(|\bat file:|\.tsx?:\d|\.m?js:\d+:\d+|node_modules|\/work\/|file:\/\//;

export function expectJsonErrorBody(text: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`error body is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (LEAK.test(text)) throw new Error(`error body leaks internals: ${text.slice(0, 300)}`);
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------
export const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** RS256 over exactly these header and payload texts (jose refuses to sign some hostile headers). */
export async function rs256Raw(privateKey: CryptoKey, headerJson: unknown, payloadJson: unknown): Promise<string> {
  const input = `${b64(headerJson)}.${b64(payloadJson)}`;
  const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', privateKey, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

/** A JWT with any header and key jose will sign with (alg must fit the key). */
export function jwt(
  payload: JWTPayload,
  protectedHeader: JWTHeaderParameters,
  key: CryptoKey | Uint8Array,
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(protectedHeader).sign(key);
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------
// The counting fixture registry
// ---------------------------------------------------------------------------------------------
/** Every handler run is pushed here; a hostile request must leave it empty. */
export type RunLog = Array<{ tool: string; organizationId?: string | null; args?: unknown }>;

export function countingRegistry(ran: RunLog) {
  // A tool with no input that only records that it ran.
  const counting = (name: string, title: string, description: string, access: Access) =>
    defineTool({
      name,
      title,
      description,
      access,
      input: z.object({}),
      handler: () => (ran.push({ tool: name }), jsonResult({ ok: true })),
    });
  return createRegistry([
    defineTool({
      name: 'open',
      title: 'Open',
      description: 'public',
      access: 'public',
      input: z.object({ message: z.string().max(200).optional() }),
      handler: () => (ran.push({ tool: 'open' }), jsonResult({ ok: true })),
    }),
    counting('member', 'Member', 'signed-in', 'signed-in'),
    counting('notes_read', 'Read', 'scope + org', { scopes: ['notes:read'], org: 'required' }),
    counting('notes_write', 'Write', 'two scopes + org', { scopes: ['notes:read', 'notes:write'], org: 'required' }),
    counting('admin_only', 'Admin', 'role from the membership lookup', { roles: ['admin'] }),
    defineTool({
      name: 'org_echo',
      title: 'Org echo',
      description: 'echoes the verified organization; declares look-alike arguments on purpose',
      access: { scopes: ['notes:read'], org: 'required' },
      input: z.object({ org_id: z.string().optional(), organizationId: z.string().optional() }),
      handler: (args, { principal }) => {
        const organizationId = principal.kind === 'user' ? (principal.organizationId ?? null) : null;
        ran.push({ tool: 'org_echo', organizationId, args });
        return jsonResult({ organizationId, argumentsSeen: args });
      },
    }),
  ]);
}

/** True when a record says a handler ran (decided allow and reached an outcome other than not_run). */
export const recordShowsRun = (record: Pick<AuditRecord, 'decision' | 'outcome'>): boolean =>
  record.outcome === 'ok' ||
  record.outcome === 'tool_error' ||
  record.outcome === 'exception' ||
  (record.decision === 'allow' && record.outcome !== 'not_run');
