import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '@/lib/audit/record';
import { openRequestTrail, type OwedRecord } from '@/lib/audit/trail';
import { createHttpAuditSink } from '@/lib/audit/http-sink';

/** The reconciliation of owed records with the wrapper's runs, without HTTP around it. */
function trail() {
  const written: Array<Omit<AuditRecord, 'time'>> = [];
  let closed = 0;
  const t = openRequestTrail('req-1', undefined, {
    write: (record) => written.push(record),
    closed: () => (closed += 1),
  });
  return { t, written, closed: () => closed };
}
const owed = (tool: string | undefined, expectedToRun: boolean, reason: string): OwedRecord => ({
  tool,
  expectedToRun,
  record: () => ({ type: 'tool_call', requestId: 'req-1', tool, decision: 'allow', reason, outcome: 'not_run' }),
});

describe('the audit trail of one request', () => {
  it('a wrapper run covers one owed call of its tool; the rest are written when the request settles', () => {
    const { t, written, closed } = trail();
    expect(t.begin('open')).toBe(true);
    t.owe([owed('open', true, 'a'), owed('open', true, 'b'), owed('member', true, 'c')]);
    t.settle();
    expect(written.map((r) => r.reason)).toEqual(['b', 'c']);
    expect(closed()).toBe(1);
  });

  it('runs are matched to calls expected to run first, so a refused call keeps its own reason', () => {
    const { t, written } = trail();
    t.begin('open');
    t.owe([owed('open', false, 'invalid_arguments'), owed('open', true, 'would_run')]);
    t.settle();
    expect(written.map((r) => r.reason)).toEqual(['invalid_arguments']);
  });

  it('a run still in progress counts too (it writes its own record), and nothing may start after settling', () => {
    const { t, written } = trail();
    t.begin('slow'); // started, no record yet
    t.owe([owed('slow', true, 'x'), owed('slow', true, 'never_started')]);
    t.settle();
    expect(written.map((r) => r.reason)).toEqual(['never_started']);
    expect(t.begin('slow')).toBe(false);
  });

  it('settles once', () => {
    const { t, written, closed } = trail();
    t.owe([owed(undefined, false, 'invalid_params')]);
    t.settle();
    t.settle();
    expect(written).toHaveLength(1);
    expect(closed()).toBe(1);
  });

  it('reserves in the sink, and a refused reservation says so', async () => {
    const sink = createHttpAuditSink({
      url: 'http://127.0.0.1:9/audit',
      secrets: [`whsec_${btoa('s'.repeat(32))}`],
      capacity: 2,
      reserveWaitMs: 20,
      log: () => {},
      metric: () => {},
    });
    const first = openRequestTrail('a', sink, { write: () => {}, closed: () => {} });
    expect(await first.reserve(2)).toBe(true);
    const second = openRequestTrail('b', sink, { write: () => {}, closed: () => {} });
    expect(await second.reserve(1)).toBe(false);
    first.settle(); // releases the unused room (and flushes to a port where nothing listens)
    expect(await openRequestTrail('c', sink, { write: () => {}, closed: () => {} }).reserve(2)).toBe(true);
  });
});
