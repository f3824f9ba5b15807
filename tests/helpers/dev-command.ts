import { type ChildProcess, spawn } from 'node:child_process';
import { freePorts, PortInUseError } from './net';

export type DevPorts = { web: number; auth: number; store: number };

/**
 * `npm run dev` as a person runs it, on three free ports: its output, its process group (so one
 * kill reaches npm, concurrently and every server) and a bounded wait for lines it prints.
 */
export class DevCommand {
  readonly ports: DevPorts = { web: 0, auth: 0, store: 0 };
  output = '';
  child: ChildProcess | undefined;

  waitFor(pattern: RegExp, limitMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + limitMs;
      const timer = setInterval(() => {
        if (pattern.test(this.output)) {
          clearInterval(timer);
          resolve();
        } else if (Date.now() > deadline || this.child?.exitCode !== null) {
          clearInterval(timer);
          reject(
            new Error(
              `npm run dev did not print ${pattern} (exit ${this.child?.exitCode}):\n${this.output.slice(-3000)}`,
            ),
          );
        }
      }, 100);
    });
  }

  /** Kills the whole process group and waits (bounded) for npm to exit. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      return; // already gone
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  }

  /** One start on three fresh ports, ready once every pattern printed; a port taken first is a PortInUseError. */
  async start(env: (ports: DevPorts) => NodeJS.ProcessEnv, ready: RegExp[], limitMs: number): Promise<void> {
    [this.ports.web, this.ports.auth, this.ports.store] = (await freePorts(3)) as [number, number, number];
    this.output = '';
    const own = spawn('npm', ['run', 'dev'], {
      env: env(this.ports),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so Ctrl-C reaches npm, concurrently and all three servers
    });
    this.child = own;
    // Only the current attempt writes to output: a killed one may still flush its pipes.
    const append = (chunk: Buffer) => {
      if (this.child === own) this.output += chunk.toString();
    };
    own.stdout?.on('data', append);
    own.stderr?.on('data', append);
    try {
      for (const pattern of ready) await this.waitFor(pattern, limitMs);
    } catch (error) {
      await this.kill();
      const taken = /EADDRINUSE[^\n]*?:(\d+)/.exec(this.output);
      if (taken) throw new PortInUseError(Number(taken[1]), this.output.slice(-3000));
      throw error;
    }
  }
}
