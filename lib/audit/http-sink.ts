import { parseSecureUrl, parseWebhookSecrets } from '../config';
import type { AuditRecord } from './record';
import { createLossCounter, type GapRecord, type LossReason } from './sink-losses';
import { signedPost } from './sink-post';

export type { GapRecord, LossReason } from './sink-losses';

/**
 * An HTTP audit sink: records are queued in memory and POSTed in batches to AUDIT_SINK_URL, signed
 * as Standard Webhooks (docs/AUDIT-SINK.md has the wire format and a receiver). Edge-safe: `fetch`,
 * timers and `AbortSignal.timeout` only. A second copy of the trail: the stdout line written by
 * lib/audit/log.ts is the record, and nothing here can stop it being written.
 *
 * No record is dropped because of how much an attacker sends. The queue holds at most `capacity`
 * records and never evicts one. A request reserves room for every record it can write before it is
 * gated, and waits up to `reserveWaitMs` while the queue is full of records still being delivered:
 * that wait is the backpressure, and a request that still finds no room is refused with 503, nothing
 * run. Records leave the queue only when delivered or when delivery has truly failed.
 *
 * A batch (at most `batchSize` records) is tried `maxAttempts` times, `retryDelaysMs` apart, always
 * with the same `webhook-id` and body. When every attempt fails its records are lost and the sink is
 * "down": one attempt per batch from then on, and a request that finds the queue full is not held
 * (its records are counted as lost instead of refusing callers because the receiver is down). Losses
 * are counted and reported (lib/audit/sink-losses.ts).
 */

/**
 * Room held for one request's records. `queued`: its records go to the queue. `unqueued`: the sink is
 * down and the queue is full, so they are counted as lost. `refused`: the queue stayed full while the
 * sink was delivering; the request must be refused (its own refusal record is counted as lost).
 */
export type Reservation = { readonly granted: 'queued' | 'unqueued' | 'refused'; release(): void };

export type FlushResult = { ok: boolean; sent: number; failed: number };

export type HttpAuditSink = {
  /** Room for `count` records, waiting (bounded) while the queue is full. Never rejects. */
  reserve(count: number): Promise<Reservation>;
  /** Queues a record against a reservation (or, without one, only if there is room). Never throws or evicts. */
  enqueue(record: AuditRecord, reservation?: Reservation): void;
  /** Delivers what is queued now; resolves once those records are delivered or lost. Never rejects. */
  flush(): Promise<FlushResult>;
  /** Records queued and not yet delivered or lost (the batch being sent included). */
  pending(): number;
  /** Records that will never reach the receiver, since start. */
  lost(): number;
  losses(): Readonly<Record<LossReason, number>>;
};

export type HttpAuditSinkOptions = {
  url: string;
  /** Standard Webhooks secrets (`whsec_...`): the current one, and the previous one while rotating. */
  secrets: readonly string[];
  fetch?: typeof fetch;
  /** Per-attempt timeout (default 5000 ms). */
  timeoutMs?: number;
  /** Most records queued or reserved at once (default 10,000). */
  capacity?: number;
  /** Most records per POST (default 500). */
  batchSize?: number;
  /** Attempts per batch while the sink is up (default 3). */
  maxAttempts?: number;
  /** Pauses between attempts (default 250 ms, then 1000 ms). */
  retryDelaysMs?: readonly number[];
  /** Longest a reservation waits for room (default 10,000 ms). */
  reserveWaitMs?: number;
  /** Operational lines (default console.error). Never receives secrets or record contents. */
  log?: (line: string) => void;
  /** The metric line (default console.log, i.e. stdout next to the audit lines). */
  metric?: (line: string) => void;
};

type Entry = { json: string; seq: number };
type Waiter = { count: number; grant: (reservation: Reservation) => void };
/** A flush waits for every entry up to `through` to settle, and counts how many of (from, through] were sent. */
type Flusher = { from: number; through: number; sent: number; failed: number; done: (result: FlushResult) => void };

function positiveInteger(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) throw new TypeError(`audit sink: ${name} must be a positive integer`);
  return value;
}

const safe = (write: (line: string) => void, line: string) => {
  try {
    write(line);
  } catch {
    // Logging must not break delivery.
  }
};

export function createHttpAuditSink(options: HttpAuditSinkOptions): HttpAuditSink {
  const { timeoutMs = 5000, retryDelaysMs = [250, 1000], reserveWaitMs = 10_000 } = options;
  const log = options.log ?? ((line: string) => console.error(line));
  const metric = options.metric ?? ((line: string) => console.log(line));
  // A receiver may take its own token in the query; only the origin ever reaches a log line.
  const target = parseSecureUrl('AUDIT_SINK_URL', options.url, 'https://logs.example.com/mcp-audit', {
    allowQuery: true,
  });
  const secrets = parseWebhookSecrets('AUDIT_SINK_SECRET', options.secrets.join(' '));
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0))
    throw new TypeError('audit sink: timeoutMs must be a positive number');
  const capacity = positiveInteger('capacity', options.capacity ?? 10_000);
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 500);
  const maxAttempts = positiveInteger('maxAttempts', options.maxAttempts ?? 3);
  const where = target.origin;
  const post = signedPost({ url: target.toString(), secrets, timeoutMs, fetch: options.fetch });
  const losses = createLossCounter({ where, log: (line) => safe(log, line), metric: (line) => safe(metric, line) });

  // Batch ids are `webhook-id`s: unique per isolate and batch, no `.` (the signed content is id.timestamp.body).
  const instance = crypto.randomUUID();
  let batches = 0;
  const queue: Entry[] = [];
  let reserved = 0;
  let lastSeq = 0;
  /** Every entry with seq <= settled has been delivered or lost. */
  let settled = 0;
  let down = false;
  let failureLogged = false;
  let draining: Promise<void> | undefined;
  const waiters: Waiter[] = [];
  const flushers: Flusher[] = [];
  const room = () => capacity - queue.length - reserved;

  // Reservations: `left` slots of `reserved` belong to one request until used or released.
  const slots = new WeakMap<Reservation, { left: number }>();
  const reservation = (granted: Reservation['granted'], count: number): Reservation => {
    const state = { left: granted === 'queued' ? count : 0 };
    const made: Reservation = {
      granted,
      release: () => {
        if (state.left === 0) return;
        reserved -= state.left;
        state.left = 0;
        serveWaiters();
      },
    };
    slots.set(made, state);
    return made;
  };

  function serveWaiters(): void {
    for (let first = waiters[0]; first && room() >= first.count; first = waiters[0]) {
      waiters.shift();
      reserved += first.count;
      first.grant(reservation('queued', first.count));
    }
    // A down sink does not hold callers: whoever is still waiting proceeds, its records counted as lost.
    if (down) for (let next = waiters.shift(); next; next = waiters.shift()) next.grant(reservation('unqueued', 0));
  }

  /** Tries one batch; true once the receiver answered 2xx. */
  async function deliver(batch: Entry[], gap: GapRecord | undefined): Promise<boolean> {
    const records = batch.map((entry) => entry.json);
    if (gap) records.unshift(JSON.stringify(gap));
    // The same id and body on every attempt, so a receiver can drop a batch it already stored.
    const id = `msg_${instance}_${++batches}`;
    const body = `{"type":"audit.batch","timestamp":"${new Date().toISOString()}","data":{"records":[${records.join(',')}]}}`;
    const attempts = down ? 1 : maxAttempts;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const failure = await post(id, body);
      if (failure === undefined) return true;
      if (!failureLogged) {
        failureLogged = true;
        safe(
          log,
          `[audit] sink delivery failed: ${failure} (${batch.length} records, ${where}); ${attempts - attempt} more attempt(s) for this batch`,
        );
      }
      const pause = retryDelaysMs[Math.min(attempt - 1, retryDelaysMs.length - 1)] ?? 0;
      if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, pause));
    }
    return false;
  }

  /** Credits a settled range of sequence numbers to every flush waiting on it. */
  function settle(first: number, last: number, delivered: boolean): void {
    settled = last;
    for (const flusher of [...flushers]) {
      const overlap = Math.max(0, Math.min(last, flusher.through) - Math.max(first - 1, flusher.from));
      if (delivered) flusher.sent += overlap;
      else flusher.failed += overlap;
      if (settled >= flusher.through) finish(flusher, delivered);
    }
  }
  function finish(flusher: Flusher, lastOk: boolean): void {
    flushers.splice(flushers.indexOf(flusher), 1);
    const failed = flusher.failed + Math.max(0, flusher.through - Math.max(settled, flusher.from));
    flusher.done({ ok: failed === 0 && lastOk, sent: flusher.sent, failed });
  }

  function drain(): Promise<void> {
    draining ??= (async () => {
      let lastOk = true;
      try {
        // Yield first: were the loop to end synchronously, `finally` would clear `draining` before
        // `??=` stored the finished promise there for good.
        await Promise.resolve();
        for (;;) {
          const batch = queue.slice(0, batchSize);
          const gap = losses.gap();
          if (batch.length === 0 && !gap) break;
          const delivered = await deliver(batch, gap);
          lastOk = delivered;
          // Nothing else removes from the front, so the front entries are exactly this batch.
          queue.splice(0, batch.length);
          down = !delivered;
          if (delivered) {
            failureLogged = false;
            if (gap) losses.reported(gap);
          } else if (batch.length > 0) {
            losses.lose(batch.length, 'delivery_failed');
          }
          const first = batch[0];
          const last = batch.at(-1);
          if (first && last) settle(first.seq, last.seq, delivered);
          serveWaiters();
          // Down: one attempt per flush, so a dead receiver costs each flush one timeout at most.
          if (!delivered || batch.length === 0) break;
        }
      } finally {
        draining = undefined;
        for (const flusher of [...flushers]) if (flusher.through <= lastSeq) finish(flusher, lastOk);
      }
    })();
    return draining;
  }

  return {
    reserve(count) {
      const n = Math.min(Math.max(0, Math.floor(count)), capacity);
      if (waiters.length === 0 && room() >= n) {
        reserved += n;
        return Promise.resolve(reservation('queued', n));
      }
      if (down) return Promise.resolve(reservation('unqueued', 0));
      return new Promise<Reservation>((resolve) => {
        const timer = setTimeout(() => {
          const index = waiters.indexOf(waiter);
          if (index < 0) return;
          waiters.splice(index, 1);
          resolve(reservation(down ? 'unqueued' : 'refused', 0));
          serveWaiters(); // a large waiter leaving may let smaller ones behind it in
        }, reserveWaitMs);
        const waiter: Waiter = {
          count: n,
          grant: (granted) => {
            clearTimeout(timer);
            resolve(granted);
          },
        };
        waiters.push(waiter);
        void drain();
      });
    },

    enqueue(record, held) {
      try {
        let json: string;
        try {
          json = JSON.stringify(record);
        } catch {
          return losses.lose(1, 'unserialisable'); // e.g. a BigInt in `arguments`; the stdout line reports its own failure
        }
        if (held?.granted === 'unqueued') return losses.lose(1, 'sink_down');
        if (held?.granted === 'refused') return losses.lose(1, 'backpressure');
        const state = held && slots.get(held);
        if (state && state.left > 0) {
          state.left -= 1;
          reserved -= 1;
        } else if (room() <= 0) {
          return losses.lose(1, 'queue_full');
        }
        queue.push({ json, seq: ++lastSeq });
        if (queue.length >= batchSize) void drain();
      } catch {
        // enqueue never throws
      }
    },

    flush() {
      const through = lastSeq;
      if (settled >= through && losses.unreported() === 0) return Promise.resolve({ ok: true, sent: 0, failed: 0 });
      return new Promise<FlushResult>((resolve) => {
        flushers.push({ from: settled, through, sent: 0, failed: 0, done: resolve });
        void drain();
      });
    },

    pending: () => queue.length,
    lost: () => losses.total(),
    losses: () => losses.byReason(),
  };
}
