import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { freePort, PortInUseError, retryOnPortInUse } from './net';

/**
 * Runs the built app with `next start` on 127.0.0.1 and a free port, with the given environment.
 * Output is captured so tests can read audit lines and grep for leaked tokens.
 */
export type RunningApp = {
  url: string;
  port: number;
  /** The process group of next-server (for memory readings). */
  pid: number;
  output(): string;
  stop(): Promise<void>;
};

/** Production needs a request-state key once a primitive asks for input (notes_delete does): a test-only value. */
export const TEST_REQUEST_STATE_KEY = 'test-only request-state key, never used outside tests';

/** Environment for the app; a function when it depends on the port the app gets. */
export type AppEnv = Record<string, string> | ((port: number) => Record<string, string>);

// Node runs Next's CLI directly: npx would add a process and ~0.3 s to every start.
const NEXT_BIN = createRequire(import.meta.url).resolve('next/dist/bin/next');
const START_LIMIT_MS = 30_000;

/**
 * Without `options.port`, a port another process takes between freePort() and next's bind is
 * retried on a fresh one (PORT_ATTEMPTS in all). With it, a taken port throws PortInUseError.
 */
export async function startApp(env: AppEnv, options: { port?: number } = {}): Promise<RunningApp> {
  if (options.port !== undefined) return launch(env, options.port);
  return retryOnPortInUse(async () => launch(env, await freePort()));
}

async function launch(env: AppEnv, port: number): Promise<RunningApp> {
  const child: ChildProcess = spawn(process.execPath, [NEXT_BIN, 'start', '-H', '127.0.0.1', '-p', String(port)], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      MCP_RESOURCE_URL: `http://127.0.0.1:${port}/mcp`,
      MCP_REQUEST_STATE_KEY: TEST_REQUEST_STATE_KEY,
      ...(typeof env === 'function' ? env(port) : env),
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid, 'SIGTERM'); // the whole group
    } catch {
      return;
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  };

  // Ready only when this child says it listens (next prints "Ready" after its bind succeeded) and
  // answers: a 200 alone could come from another server that took the port first.
  const deadline = Date.now() + START_LIMIT_MS;
  for (let attempt = 0; attempt < 300 && Date.now() < deadline; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) {
      if (/EADDRINUSE/.test(output)) throw new PortInUseError(port, output);
      throw new Error(`next start exited early (${child.exitCode ?? child.signalCode}):\n${output}`);
    }
    if (/Ready in/.test(output)) {
      try {
        const response = await fetch(`${url}/.well-known/oauth-protected-resource`, {
          signal: AbortSignal.timeout(2_000),
        });
        if (response.status === 200 && child.exitCode === null)
          return { url, port, pid: child.pid ?? 0, output: () => output, stop };
      } catch {
        // listening, not answering yet
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`next start on port ${port} was not ready within ${START_LIMIT_MS / 1000} s:\n${output}`);
}

/** Headers every streamable-HTTP POST needs. */
export const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
} as const;

/** The same headers on the 2026-07-28 wire (add the mirrored `Mcp-Method` / `Mcp-Name` per request). */
export const MODERN_HEADERS = { ...MCP_HEADERS, 'mcp-protocol-version': '2026-07-28' } as const;

/** The `_meta` every 2026-07-28 request carries: revision, client capabilities and client info. */
export function modernMeta(clientName: string): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities': {},
    'io.modelcontextprotocol/clientInfo': { name: clientName, version: '1.0.0' },
  };
}

export function rpc(method: string, params?: Record<string, unknown>, id: number | string = 1): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
}

/** Reads a JSON or single-event SSE response body as the JSON-RPC message it carries. */
export async function readRpc(response: Response): Promise<Record<string, unknown>> {
  const text = await response.text();
  if ((response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const data = text
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trim())
      .pop();
    return JSON.parse(data ?? 'null') as Record<string, unknown>;
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/** The audit records a running app printed (JSON lines of the form {"audit": {...}}). */
export function auditRecords(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{"audit":'))
    .map((line) => (JSON.parse(line) as { audit: Record<string, unknown> }).audit);
}
