/**
 * What the HTTP audit sink could not deliver: counted by reason, logged once per episode, and
 * reported as one `audit_sink_gap` record at the head of the next batch that is delivered, then as
 * one `{"metric": ...}` line on stdout once that batch is acknowledged. Records queued in an isolate
 * that dies are lost without a count: stdout is the record of truth.
 */

export type LossReason = 'delivery_failed' | 'sink_down' | 'backpressure' | 'queue_full' | 'unserialisable';

/** Sent ahead of the next delivered batch: how many records since `since` will never arrive, and why. */
export type GapRecord = {
  type: 'audit_sink_gap';
  time: string;
  since: string;
  lost: number;
  reasons: Partial<Record<LossReason, number>>;
};

export type LossCounter = {
  lose(count: number, reason: LossReason): void;
  /** The gap record to send with the next batch, if anything is unreported. */
  gap(): GapRecord | undefined;
  /** The receiver acknowledged a batch carrying `gap`: those losses are reported. */
  reported(gap: GapRecord): void;
  unreported(): number;
  total(): number;
  byReason(): Readonly<Record<LossReason, number>>;
};

const REASONS: readonly LossReason[] = ['delivery_failed', 'sink_down', 'backpressure', 'queue_full', 'unserialisable'];
const zero = (): Record<LossReason, number> =>
  Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<LossReason, number>;
const sum = (counts: Record<LossReason, number>) => REASONS.reduce((total, reason) => total + counts[reason], 0);

/** `where` is the receiver's origin (never its path or query); `log` and `metric` must not throw. */
export function createLossCounter(out: {
  where: string;
  log: (line: string) => void;
  metric: (line: string) => void;
}): LossCounter {
  const totals = zero();
  let unreported = zero();
  let since: string | undefined;
  let logged = false;

  return {
    lose(count, reason) {
      totals[reason] += count;
      unreported[reason] += count;
      since ??= new Date().toISOString();
      if (logged) return;
      logged = true;
      out.log(
        `[audit] sink: ${count} record(s) will not reach ${out.where} (${reason}); further losses are counted and reported with the next delivered batch`,
      );
    },
    gap() {
      const lost = sum(unreported);
      if (lost === 0) return undefined;
      const reasons: GapRecord['reasons'] = {};
      for (const reason of REASONS) if (unreported[reason] > 0) reasons[reason] = unreported[reason];
      const time = new Date().toISOString();
      return { type: 'audit_sink_gap', time, since: since ?? time, lost, reasons };
    },
    reported(gap) {
      for (const reason of REASONS) unreported[reason] -= gap.reasons[reason] ?? 0;
      if (sum(unreported) === 0) {
        unreported = zero();
        since = undefined;
        logged = false;
      }
      const { lost: value, reasons, since: from } = gap;
      const reportedAt = new Date().toISOString();
      out.metric(
        JSON.stringify({
          metric: { name: 'audit_sink_lost_records', value, reasons, since: from, reported: reportedAt },
        }),
      );
    },
    unreported: () => sum(unreported),
    total: () => sum(totals),
    byReason: () => ({ ...totals }),
  };
}
