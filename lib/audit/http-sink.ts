import { parseSecureUrl } from '../config';
import type { AuditRecord } from './record';
import { hmacKey, signedMessage, SIGNATURE_HEADER, TIMESTAMP_HEADER, toHex } from './signature';

export { SIGNATURE_HEADER, TIMESTAMP_HEADER, signAuditPayload, verifyAuditSignature } from './signature';

/**
 * An HTTP audit sink: records are queued in memory and POSTed in signed batches to AUDIT_SINK_URL.
 * Edge-safe: only `fetch`, timers, `AbortSignal.timeout` and Web Crypto.
 *
 * This sink is a second copy of the trail; the stdout line written by lib/audit/log.ts is the primary
 * record and nothing here can stop it being written.
 *
 * ## No record is dropped because of how much an attacker sends
 *
 * The queue holds at most `capacity` records and never evicts one. A request reserves room for every
 * record it can write (lib/endpoint/endpoint.ts knows the bound before it gates anything) and waits, up to
 * `reserveWaitMs`, while the queue is full of records still being delivered: that wait is the
 * backpressure. A request that still finds no room is refused with 503 and nothing runs. Records
 * leave the queue only when delivered or when delivery has truly failed.
 *
 * ## Failed deliveries
 *
 * A batch (at most `batchSize` records) is attempted up to `maxAttempts` times, `retryDelaysMs` apart.
 * When every attempt fails the sink counts the batch as lost and is "down": from then on each batch
 * gets one attempt, and a request that finds the queue full is not held (its records are counted as
 * lost instead of refusing callers because the receiver is down). The first failed attempt of an
 * outage and the first loss of an episode each log one line; the counts go, as one `audit_sink_gap`
 * record at the head of the next batch that is delivered, to the receiver, and as one `{"metric": ...}`
 * line to stdout once that batch is acknowledged.
 *
 * ## Wire format and signature (for receivers)
 *
 *   POST <AUDIT_SINK_URL>
 *   content-type: application/json
 *   x-audit-timestamp: <unix time in whole seconds, decimal, e.g. 1767225600>
 *   x-audit-signature: sha256=<lowercase hex of HMAC-SHA256(key = secret, message = timestamp + "." + body)>
 *
 *   {"batch":"<id>","records":[<GapRecord>?, <AuditRecord>, ...]}   (audit records in the order written)
 *
 * `secret` is AUDIT_SINK_SECRET as UTF-8 bytes; `body` is the exact bytes of the request body (verify
 * the raw bytes, before any JSON parsing); `timestamp` is the header value as sent. Receivers must
 * reject timestamps outside a small window (verifyAuditSignature uses ±300 s) and compare MACs in
 * constant time; verifyAuditSignature does both. A batch whose answer was lost may arrive again,
 * with the same `batch` id (records of one batched request can be identical, so de-duplicate batches,
 * not records).
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
  secret: string;
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
type Flusher = { from: number; through: number; sent: number; failed: number; done: (result: FlushResult) => void };

const REASONS: readonly LossReason[] = ['delivery_failed', 'sink_down', 'backpressure', 'queue_full', 'unserialisable'];
const zeroLosses = (): Record<LossReason, number> => ({
  delivery_failed: 0,
  sink_down: 0,
  backpressure: 0,
  queue_full: 0,
  unserialisable: 0,
});

function describeFailure(error: unknown, timeoutMs: number): string {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
  if (name === 'AbortError') return 'aborted';
  // Deliberately not the error message: it may quote the URL.
  return name ? `network error (${name})` : 'network error';
}

function positiveInteger(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) throw new TypeError(`audit sink: ${name} must be a positive integer`);
  return value;
}

export function createHttpAuditSink(options: HttpAuditSinkOptions): HttpAuditSink {
  const { secret, timeoutMs = 5000, retryDelaysMs = [250, 1000], reserveWaitMs = 10_000 } = options;
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const log = options.log ?? ((line: string) => console.error(line));
  const metric = options.metric ?? ((line: string) => console.log(line));

  // A receiver may take its own token in the query; it never reaches a log line (`where` below).
  const target = parseSecureUrl('AUDIT_SINK_URL', options.url, 'https://logs.example.com/mcp-audit', {
    allowQuery: true,
  });
  if (!secret) throw new TypeError('audit sink: secret must not be empty');
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0))
    throw new TypeError('audit sink: timeoutMs must be a positive number');
  const capacity = positiveInteger('capacity', options.capacity ?? 10_000);
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 500);
  const maxAttempts = positiveInteger('maxAttempts', options.maxAttempts ?? 3);

  const url = target.toString();
  // Only the origin goes into log lines: no credentials, path or query.
  const where = target.origin;

  const instance = crypto.randomUUID();
  let gapBatches = 0;
  const queue: Entry[] = [];
  let reserved = 0;
  let lastSeq = 0;
  /** Every entry with seq <= settled has been delivered or lost. */
  let settled = 0;
  let down = false;
  let draining: Promise<void> | undefined;
  let keyPromise: Promise<CryptoKey> | undefined;
  const waiters: Waiter[] = [];
  const flushers: Flusher[] = [];
  const totals = zeroLosses();
  let unreported = zeroLosses();
  let unreportedSince: string | undefined;
  let lossLogged = false;
  let failureLogged = false;

  const safe = (write: (line: string) => void, line: string) => {
    try {
      write(line);
    } catch {
      // Logging must not break delivery.
    }
  };
  const room = () => capacity - queue.length - reserved;
  const unreportedCount = () => REASONS.reduce((sum, reason) => sum + unreported[reason], 0);

  const lose = (count: number, reason: LossReason) => {
    totals[reason] += count;
    unreported[reason] += count;
    unreportedSince ??= new Date().toISOString();
    if (!lossLogged) {
      lossLogged = true;
      safe(
        log,
        `[audit] sink: ${count} record(s) will not reach ${where} (${reason}); further losses are counted and reported with the next delivered batch`,
      );
    }
  };

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

  const signingKey = (): Promise<CryptoKey> => {
    if (!keyPromise) {
      keyPromise = hmacKey(secret, 'sign');
      keyPromise.catch(() => (keyPromise = undefined));
    }
    return keyPromise;
  };

  const gapRecord = (): GapRecord | undefined => {
    const lost = unreportedCount();
    if (lost === 0) return undefined;
    const reasons: GapRecord['reasons'] = {};
    for (const reason of REASONS) if (unreported[reason] > 0) reasons[reason] = unreported[reason];
    return {
      type: 'audit_sink_gap',
      time: new Date().toISOString(),
      since: unreportedSince ?? new Date().toISOString(),
      lost,
      reasons,
    };
  };

  /** One POST; the failure description, or undefined when the receiver answered 2xx. */
  async function post(batchId: string, batch: Entry[], gap: GapRecord | undefined): Promise<string | undefined> {
    try {
      const parts = batch.map((entry) => entry.json);
      if (gap) parts.unshift(JSON.stringify(gap));
      const body = `{"batch":${JSON.stringify(batchId)},"records":[${parts.join(',')}]}`;
      const timestamp = String(Math.floor(Date.now() / 1000));
      const mac = await crypto.subtle.sign('HMAC', await signingKey(), signedMessage(timestamp, body));
      const response = await doFetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: `sha256=${toHex(mac)}`,
        },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
      // The answer's body is not needed; release the connection.
      await response.body?.cancel().catch(() => undefined);
      return response.ok ? undefined : `HTTP ${response.status}`;
    } catch (error) {
      return describeFailure(error, timeoutMs);
    }
  }

  async function deliver(batch: Entry[], gap: GapRecord | undefined): Promise<boolean> {
    const attempts = down ? 1 : maxAttempts;
    // The same id on every attempt, so a receiver can drop a batch it already stored.
    const batchId = `${instance}.${batch[0]?.seq ?? `gap${++gapBatches}`}`;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const failure = await post(batchId, batch, gap);
      if (failure === undefined) return true;
      if (!failureLogged) {
        failureLogged = true;
        safe(
          log,
          `[audit] sink delivery failed: ${failure} (${batch.length} records, ${where}); ${attempts - attempt} more attempt(s) for this batch`,
        );
      }
      if (attempt < attempts)
        await new Promise((resolve) =>
          setTimeout(resolve, retryDelaysMs[Math.min(attempt - 1, retryDelaysMs.length - 1)] ?? 0),
        );
    }
    return false;
  }

  const reportGap = (gap: GapRecord) => {
    for (const reason of REASONS) unreported[reason] -= gap.reasons[reason] ?? 0;
    if (unreportedCount() === 0) {
      unreported = zeroLosses();
      unreportedSince = undefined;
      lossLogged = false;
    }
    safe(
      metric,
      JSON.stringify({
        metric: {
          name: 'audit_sink_lost_records',
          value: gap.lost,
          reasons: gap.reasons,
          since: gap.since,
          reported: new Date().toISOString(),
        },
      }),
    );
  };

  /** Credits a settled range of sequence numbers to every flush waiting on it. */
  const settle = (first: number, last: number, delivered: boolean) => {
    for (const flusher of [...flushers]) {
      const overlap = Math.max(0, Math.min(last, flusher.through) - Math.max(first - 1, flusher.from));
      if (delivered) flusher.sent += overlap;
      else flusher.failed += overlap;
      if (settled >= flusher.through) finish(flusher, delivered);
    }
  };
  const finish = (flusher: Flusher, lastOk: boolean) => {
    flushers.splice(flushers.indexOf(flusher), 1);
    const missing = Math.max(0, flusher.through - Math.max(settled, flusher.from));
    const failed = flusher.failed + missing;
    flusher.done({ ok: failed === 0 && lastOk, sent: flusher.sent, failed });
  };

  function drain(): Promise<void> {
    if (draining) return draining;
    draining = (async () => {
      let lastOk = true;
      try {
        // Yield first: were the loop to end synchronously, its `finally` would clear `draining`
        // before the assignment below stored the finished promise there for good.
        await Promise.resolve();
        for (;;) {
          const batch = queue.slice(0, batchSize);
          const gap = gapRecord();
          if (batch.length === 0 && !gap) break;
          const delivered = await deliver(batch, gap);
          lastOk = delivered;
          // Nothing else removes from the front, so the front entries are exactly this batch.
          queue.splice(0, batch.length);
          if (delivered) {
            down = false;
            failureLogged = false;
            if (gap) reportGap(gap);
          } else {
            if (batch.length > 0) lose(batch.length, 'delivery_failed');
            down = true;
          }
          const first = batch[0];
          const last = batch[batch.length - 1];
          if (first && last) {
            settled = last.seq;
            settle(first.seq, settled, delivered);
          }
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
        const waiter: Waiter = {
          count: n,
          grant: (granted) => {
            clearTimeout(timer);
            resolve(granted);
          },
        };
        const timer = setTimeout(() => {
          const index = waiters.indexOf(waiter);
          if (index < 0) return;
          waiters.splice(index, 1);
          resolve(reservation(down ? 'unqueued' : 'refused', 0));
          serveWaiters(); // a large waiter leaving may let smaller ones behind it in
        }, reserveWaitMs);
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
          lose(1, 'unserialisable'); // e.g. a BigInt in `arguments`; the stdout line reports its own failure
          return;
        }
        const state = held && slots.get(held);
        if (held?.granted === 'unqueued') return lose(1, 'sink_down');
        if (held?.granted === 'refused') return lose(1, 'backpressure');
        if (state && state.left > 0) {
          state.left -= 1;
          reserved -= 1;
        } else if (room() <= 0) {
          return lose(1, 'queue_full');
        }
        queue.push({ json, seq: ++lastSeq });
        if (queue.length >= batchSize) void drain();
      } catch {
        // enqueue never throws
      }
    },

    flush() {
      const through = lastSeq;
      if (settled >= through && unreportedCount() === 0) return Promise.resolve({ ok: true, sent: 0, failed: 0 });
      return new Promise<FlushResult>((resolve) => {
        flushers.push({ from: settled, through, sent: 0, failed: 0, done: resolve });
        void drain().catch(() => undefined);
      });
    },

    pending: () => queue.length,
    lost: () => REASONS.reduce((sum, reason) => sum + totals[reason], 0),
    losses: () => ({ ...totals }),
  };
}
