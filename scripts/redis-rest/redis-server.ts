// Starts Debian's `redis-server` on a loopback port, in memory only (no RDB, no AOF), for tests,
// the bench and `npm run dev`. Every wait is bounded; a port someone else took is retried on a fresh one.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { connectResp } from './resp';

export const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';

export type RedisProcess = { port: number; stop(): Promise<void>; readonly running: boolean };

export function redisServerInstalled(): boolean {
  return existsSync(REDIS_SERVER_BIN);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** PING until PONG, for at most `timeoutMs`. */
async function waitForPing(port: number, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 200 && Date.now() < deadline; attempt++) {
    if (child.exitCode !== null) return false;
    try {
      const conn = await connectResp(port, 500);
      const reply = await conn.send(['PING']);
      conn.close();
      if (reply !== null && typeof reply === 'object' && 'status' in reply && reply.status === 'PONG') return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

/** One redis-server on 127.0.0.1 (`port` 0: a free one, up to 5 tries), stopped by `stop()`. */
export async function startRedisServer({
  port = 0,
  attempts = 5,
}: {
  port?: number;
  attempts?: number;
} = {}): Promise<RedisProcess> {
  if (!redisServerInstalled())
    throw new Error(`redis-server not found at ${REDIS_SERVER_BIN} (apt-get install redis-server)`);
  let lastOutput = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const chosen = port || (await freePort());
    const child = spawn(
      REDIS_SERVER_BIN,
      [
        '--port',
        String(chosen),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    if (await waitForPing(chosen, child, 10_000)) {
      return {
        port: chosen,
        stop: () => stopChild(child),
        get running() {
          return child.exitCode === null && child.signalCode === null;
        },
      };
    }
    await stopChild(child);
    lastOutput = output.slice(-500);
    if (port) break; // a fixed port is not retried
  }
  throw new Error(`redis-server did not start: ${lastOutput}`);
}
