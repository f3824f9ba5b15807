import { describe, expect, it } from 'vitest';
import { coalescing } from '../../lib/shared-state/coalesce';

/** A task the test settles by hand, recording when it started. */
function manual(log: string[], name: string) {
  let settle!: { resolve: (v: string) => void; reject: (e: Error) => void };
  const task = () => {
    log.push(`start ${name}`);
    return new Promise<string>((resolve, reject) => {
      settle = { resolve, reject };
    });
  };
  return { task, settle: () => settle };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('coalescing: one round trip for the calls that arrive while one is out', () => {
  it('starts the first call at once, holds the next ones, then starts them together', async () => {
    const run = coalescing();
    const log: string[] = [];
    const a = manual(log, 'a');
    const b = manual(log, 'b');
    const c = manual(log, 'c');
    const first = run(a.task);
    expect(log).toEqual(['start a']);
    const second = run(b.task);
    const third = run(c.task);
    await tick();
    expect(log).toEqual(['start a']); // held while a is out
    a.settle().resolve('A');
    await expect(first).resolves.toBe('A');
    await tick();
    expect(log).toEqual(['start a', 'start b', 'start c']);
    c.settle().resolve('C');
    b.settle().resolve('B');
    await expect(Promise.all([second, third])).resolves.toEqual(['B', 'C']);
  });

  it('starts the held calls in one synchronous loop (so their commands share one pipeline)', async () => {
    const run = coalescing();
    const log: string[] = [];
    const a = manual(log, 'a');
    void run(a.task);
    const starts: number[] = [];
    let microtasks = 0;
    const count = () => {
      microtasks++;
      if (microtasks < 50) queueMicrotask(count);
    };
    const held = [1, 2, 3].map((n) =>
      run(() => {
        starts.push(microtasks);
        return Promise.resolve(n);
      }),
    );
    a.settle().resolve('A');
    queueMicrotask(count);
    await expect(Promise.all(held)).resolves.toEqual([1, 2, 3]);
    expect(new Set(starts).size).toBe(1);
  });

  it('a failing call fails alone: the others in its batch and the next batch still run', async () => {
    const run = coalescing();
    const log: string[] = [];
    const a = manual(log, 'a');
    const first = run(a.task);
    const throwsNow = run(() => {
      throw new Error('sync');
    });
    const rejects = run(() => Promise.reject(new Error('async')));
    const fine = run(() => Promise.resolve('ok'));
    a.settle().reject(new Error('first'));
    await expect(first).rejects.toThrow('first');
    await expect(throwsNow).rejects.toThrow('sync');
    await expect(rejects).rejects.toThrow('async');
    await expect(fine).resolves.toBe('ok');
    // Idle again: the next call starts at once.
    const later = manual(log, 'later');
    void run(later.task);
    expect(log.at(-1)).toBe('start later');
  });
});
