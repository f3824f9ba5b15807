import { describe, expect, it } from 'vitest';
import {
  median,
  pairedRatio,
  pairedRatioInterval,
  percentile,
  seeded,
  shuffled,
  verdict,
  warmupOrder,
  type Round,
} from '@/scripts/bench/common';
import { PENDING_BUDGETS, TARGETS, targetsText } from '@/scripts/bench/targets';

/** The statistics `npm run bench` decides its must-show checks with (scripts/bench/common.ts). */
const round = (rps: number, p99 = 1): Round => ({ requests: 1, errors: 0, seconds: 1, rps, p50: 1, p99 });

describe('benchmark statistics', () => {
  it('HTTP rounds run their targets in orders that vary, each target once per round', () => {
    const targets = ['a', 'b', 'c', 'd', 'e', 'f'];
    const random = seeded(7);
    const orders = Array.from({ length: 20 }, () => shuffled(targets, random));
    for (const order of orders) expect([...order].sort()).toEqual(targets);
    expect(targets).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    // What follows 'c' is not always the same target.
    const after = new Set(orders.map((o) => o[o.indexOf('c') + 1]));
    expect(after.size).toBeGreaterThan(2);
  });

  it('the warm-up gives every server the same seconds of load, whatever its number of targets', () => {
    const targets = [
      { server: 'many', id: 1 },
      { server: 'one', id: 2 },
      { server: 'many', id: 3 },
      { server: 'many', id: 4 },
    ];
    const order = warmupOrder(targets, 5);
    const seconds = (server: string) => order.filter((t) => t.server === server).length;
    expect(seconds('many')).toBe(5);
    expect(seconds('one')).toBe(5);
    // Taken in turn, not one server after the other: the first round has every target.
    expect(order.slice(0, 4).map((t) => t.id)).toEqual([1, 2, 3, 4]);
    expect(warmupOrder(targets, 0)).toEqual([]);
  });

  it('median and nearest-rank percentile', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([Number.NaN, 5])).toBe(5);
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        99,
      ),
    ).toBe(99);
    expect(percentile([], 99)).toBeNaN();
  });

  it('pairs round i with round i, so drift common to both cancels', () => {
    const a = [round(100), round(200), round(50)];
    const c = [round(90), round(180), round(45)];
    expect(pairedRatio(c, a, (r) => r.rps)).toBeCloseTo(0.9);
    expect(median(c.map((r) => r.rps)) / median(a.map((r) => r.rps))).toBeCloseTo(0.9);
    // Unpaired medians would be fooled by drift that pairing removes:
    const drifted = [round(100), round(100), round(300)];
    expect(pairedRatio([round(90), round(90), round(270)], drifted, (r) => r.rps)).toBeCloseTo(0.9);
  });

  it('the bootstrap interval collapses for identical ratios and brackets the median otherwise', () => {
    const a = Array.from({ length: 12 }, () => round(100));
    expect(
      pairedRatioInterval(
        a.map(() => round(88)),
        a,
        (r) => r.rps,
      ),
    ).toEqual({ low: 0.88, high: 0.88 });
    const noisy = [0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 0.88, 0.92, 0.97, 0.83, 0.99, 0.91].map((x) => round(100 * x));
    const interval = pairedRatioInterval(noisy, a, (r) => r.rps);
    const point = pairedRatio(noisy, a, (r) => r.rps);
    expect(interval.low).toBeLessThan(point);
    expect(interval.high).toBeGreaterThan(point);
    expect(interval.low).toBeGreaterThanOrEqual(0.8);
    expect(interval.high).toBeLessThanOrEqual(1.05);
    expect(pairedRatioInterval(noisy, a, (r) => r.rps)).toEqual(interval); // seeded: reproducible
    expect(pairedRatioInterval([], [], (r) => r.rps).low).toBeNaN();
  });

  it('decides from the whole interval: one side of the limit passes or fails, a straddle or no interval cannot decide', () => {
    expect(verdict({ low: 0.96, high: 1.1 }, '>=', 0.95)).toBe('PASS');
    expect(verdict({ low: 0.95, high: 0.95 }, '>=', 0.95)).toBe('PASS'); // the limit itself passes
    expect(verdict({ low: 0.8, high: 0.94 }, '>=', 0.95)).toBe('FAIL');
    expect(verdict({ low: 0.9, high: 1.0 }, '>=', 0.95)).toBe('CANNOT DECIDE');
    expect(verdict({ low: 0.9, high: 1.2 }, '<=', 1.2)).toBe('PASS');
    expect(verdict({ low: 1.21, high: 1.5 }, '<=', 1.2)).toBe('FAIL');
    expect(verdict({ low: 1.1, high: 1.3 }, '<=', 1.2)).toBe('CANNOT DECIDE');
    expect(verdict({ low: Number.NaN, high: Number.NaN }, '>=', 0.7)).toBe('CANNOT DECIDE');
  });

  it('checks exactly the targets of issues "Lighter", 27 (revocation and rate limits) and 28 (traces), and states any unmeasured budget', () => {
    const summary = TARGETS.map((t) => [
      t.where,
      `${t.x.id}/${t.x.variant}`,
      `${t.y.id}/${t.y.variant}`,
      t.metric,
      t.op,
      t.limit,
    ]);
    expect(summary).toEqual([
      ['over HTTP (edge)', 'c/edge', 'p1/edge', 'rps', '>=', 0.95],
      ['over HTTP (edge)', 'c/edge', 'b-pad/edge', 'p99', '<=', 1.2],
      ['over HTTP (edge)', 'c/edge-traced', 'c/edge', 'rps', '>=', 0.95],
      ['over HTTP (edge)', 'c/edge-governed', 'c/edge', 'rps', '>=', 0.9],
      ['in process', 'c/stdout', 'a/no audit', 'rps', '>=', 0.7],
      ['in process', 'd/stdout', 'a/no audit', 'rps', '>=', 0.85],
    ]);
    expect(new Set(TARGETS.map((t) => t.key)).size).toBe(TARGETS.length);
    const text = targetsText(50);
    for (const t of TARGETS) expect(text).toContain(t.name);
    for (const budget of PENDING_BUDGETS) expect(text).toContain(budget);
    expect(text).toContain('50 ms');
  });
});
