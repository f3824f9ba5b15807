import type { Refusal } from '../http/answers';
import { stamp, type AuditRecord } from './record';
import type { HttpAuditSink, Reservation } from './http-sink';

/**
 * The audit of one request, from the moment its body is parsed until its response has been sent.
 *
 * How many records one request writes (what it reserves in the HTTP sink before anything runs):
 *  - refused before the gate (413, a batch the revision does not allow, bad credentials, JWKS down,
 *    unapproved client, audit backpressure): exactly one `request_rejected` record;
 *  - otherwise exactly one `tool_call` record per `tools/call` element, whatever became of it (ran,
 *    challenged, hidden, unknown, refused by the SDK, its client gone), at most 100 (the SDK's batch
 *    limit, and only under 2025-03-26); a request without one that the SDK refuses with 4xx/5xx
 *    leaves one `request_rejected` record, and one it answers 2xx (ping, tools/list) leaves none.
 *
 * The tool wrapper writes the record of every call it runs. For every other call the endpoint
 * leaves an owed record here; when the request settles, each wrapper run of a tool covers one owed
 * call of that tool and the rest are written. A wrapper asking to start after that is told no, so a
 * call is never both "not run" and run.
 */
export type OwedRecord = {
  tool?: string;
  /** The call would reach the wrapper if the SDK accepts it: such calls are covered by a run first. */
  expectedToRun: boolean;
  record: () => Omit<AuditRecord, 'time'>;
};

/** Who else follows the request's audit (its trace, lib/telemetry/): told of a refusal and of the settle. */
export type TrailObserver = {
  /** The request is answered with this refusal (lib/audit/refusals.ts `refuse`). */
  refused?(refusal: Pick<Refusal, 'status' | 'code'>): void;
  /** The request settled: its response was sent and every record written. */
  closed?(): void;
};

export type RequestTrail = {
  readonly requestId: string;
  /** Room in the HTTP sink for `count` records; false when the sink applies backpressure (refuse, run nothing). */
  reserve(count: number): Promise<boolean>;
  /** The wrapper is about to run `tool`; false once the request is settled. */
  begin(tool: string): boolean;
  owe(records: readonly OwedRecord[]): void;
  /** Whether anything is still owed: when not, the request can settle as soon as it is answered. */
  owes(): boolean;
  /** Writes one record of this request: its stdout line, then its copy against the reservation. */
  write(record: Omit<AuditRecord, 'time'>): void;
  /** Writes what is still owed, releases the reservation; the HTTP flush, when there is a sink. */
  settle(): Promise<unknown> | undefined;
  /** The request is answered with this refusal; its records are written by the caller. */
  refused(refusal: Pick<Refusal, 'status' | 'code'>): void;
};

/** An observer's failure never reaches the request: its answer and its records stay as they are. */
function quietly(notify: () => void): void {
  try {
    notify();
  } catch {
    // the request goes on
  }
}

export function openRequestTrail(
  requestId: string,
  sink: HttpAuditSink | undefined,
  /** `write` puts one stamped record on stdout (lib/audit/log.ts); `closed` runs once, when settled. */
  hooks: { write: (record: AuditRecord) => void; closed: () => void },
  observer: TrailObserver = {},
): RequestTrail {
  let reservation: Reservation | undefined;
  let settled = false;
  const started = new Map<string, number>();
  let owed: OwedRecord[] = [];

  return {
    requestId,
    async reserve(count) {
      if (!sink) return true;
      reservation?.release();
      reservation = await sink.reserve(count);
      return reservation.granted !== 'refused';
    },
    begin(tool) {
      if (settled) return false;
      started.set(tool, (started.get(tool) ?? 0) + 1);
      return true;
    },
    owe(records) {
      owed.push(...records);
    },
    owes: () => owed.length > 0,
    write(record) {
      const full = stamp(record);
      hooks.write(full); // stdout first: whatever happens to the HTTP sink, this line is written
      sink?.enqueue(full, reservation);
    },
    refused(refusal) {
      quietly(() => observer.refused?.(refusal));
    },
    settle() {
      if (settled) return undefined;
      settled = true;
      // A run that has not finished yet still counts: the wrapper writes its record when it does.
      const runs = new Map(started);
      const ordered = [...owed.filter((o) => o.expectedToRun), ...owed.filter((o) => !o.expectedToRun)];
      owed = [];
      for (const entry of ordered) {
        const left = entry.tool === undefined ? 0 : (runs.get(entry.tool) ?? 0);
        if (entry.tool !== undefined && left > 0) runs.set(entry.tool, left - 1);
        else this.write(entry.record());
      }
      hooks.closed();
      quietly(() => observer.closed?.());
      reservation?.release();
      return sink?.flush();
    },
  };
}
