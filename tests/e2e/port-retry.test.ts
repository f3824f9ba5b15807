import { afterAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../helpers/app';
import { startTestIssuer, type TestIssuer } from '../helpers/issuer';
import {
  freePort,
  freePorts,
  listen,
  PORT_ATTEMPTS,
  PortInUseError,
  retryOnPortInUse,
  type Listening,
} from '../helpers/net';

/**
 * freePort() releases its port before the server binds it; these prove the helpers turn a port taken
 * in between into a fresh attempt (startApp, startStack) instead of a failed test, and stay bounded.
 */
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function occupy(port = 0): Promise<Listening> {
  const blocker = await listen((_req, res) => res.writeHead(418).end(), port);
  cleanups.push(() => blocker.close());
  return blocker;
}

async function issuer(): Promise<TestIssuer> {
  const started = await startTestIssuer();
  cleanups.push(() => started.close());
  return started;
}

describe('port helpers', () => {
  it('listen() on a taken port rejects with PortInUseError instead of waiting forever', async () => {
    const blocker = await occupy();
    const error = await listen(() => undefined, blocker.port).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortInUseError);
    expect((error as PortInUseError).port).toBe(blocker.port);
  });

  it('freePorts() gives distinct ports that can all be bound', async () => {
    const ports = await freePorts(3);
    expect(new Set(ports).size).toBe(3);
    for (const port of ports) expect((await occupy(port)).port).toBe(port);
  });

  it('retryOnPortInUse stops after its attempts and rethrows any other error at once', async () => {
    let calls = 0;
    const taken = await retryOnPortInUse(async () => {
      calls += 1;
      throw new PortInUseError(1);
    }).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(PortInUseError);
    expect(calls).toBe(PORT_ATTEMPTS);

    calls = 0;
    const other = await retryOnPortInUse(async () => {
      calls += 1;
      throw new Error('not a port problem');
    }).catch((e: unknown) => e);
    expect((other as Error).message).toBe('not a port problem');
    expect(calls).toBe(1);
  });
});

describe('startApp when another process holds its port', () => {
  it('throws PortInUseError for a taken explicit port, and does not mistake the holder for the app', async () => {
    const { issuer: domain } = await issuer();
    // The holder answers every path, so a readiness check by HTTP status alone would be fooled.
    const blocker = await listen((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    cleanups.push(() => blocker.close());
    const error = await startApp({ AUTHKIT_DOMAIN: domain }, { port: blocker.port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortInUseError);
    expect((error as PortInUseError).port).toBe(blocker.port);
  });

  it('starts on a fresh port when the first one was taken before next bound it', async () => {
    const { issuer: domain } = await issuer();
    const tried: number[] = [];
    const app: RunningApp = await retryOnPortInUse(async () => {
      const port = await freePort();
      tried.push(port);
      if (tried.length === 1) await occupy(port); // the race, made certain
      return startApp({ AUTHKIT_DOMAIN: domain }, { port });
    });
    cleanups.push(() => app.stop());
    expect(tried).toHaveLength(2);
    expect(app.port).toBe(tried[1]);
    const metadata = await fetch(`${app.url}/.well-known/oauth-protected-resource`);
    expect(await metadata.json()).toMatchObject({ resource: `http://127.0.0.1:${tried[1]}/mcp` });
  });
});
