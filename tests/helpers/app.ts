import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './net';

/**
 * Runs the built app with `next start` on 127.0.0.1 and a free port, with the given environment.
 * Output is captured so tests can read audit lines and grep for leaked tokens.
 */
export type RunningApp = {
  url: string;
  port: number;
  /** The process group of npx and next-server (for memory readings). */
  pid: number;
  output(): string;
  stop(): Promise<void>;
};

export async function startApp(env: Record<string, string>, options: { port?: number } = {}): Promise<RunningApp> {
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn('npx', ['next', 'start', '-H', '127.0.0.1', '-p', String(port)], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      MCP_RESOURCE_URL: `http://127.0.0.1:${port}/mcp`,
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; attempt < 300 && Date.now() < deadline; attempt++) {
    if (child.exitCode !== null) throw new Error(`next start exited early (${child.exitCode}):\n${output}`);
    try {
      const response = await fetch(`${url}/.well-known/oauth-protected-resource`, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    url,
    port,
    pid: child.pid ?? 0,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.pid === undefined) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        process.kill(-child.pid, 'SIGTERM'); // the whole group: npx and next
      } catch {
        return;
      }
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    },
  };
}

/** Headers every streamable-HTTP POST needs. */
export const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25',
} as const;

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
