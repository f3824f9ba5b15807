import { createHttpAuditSink, type HttpAuditSink } from './http-sink';
import { openRequestTrail, type RequestTrail } from './trail';
import { perConfig, type Config } from '../config';
import type { AuditRecord } from './record';

/**
 * Writes audit records: one JSON line each on stdout (the default sink; Vercel log drains pick it
 * up) and, when AUDIT_SINK_URL is set, a signed HTTP copy against the request's reservation.
 */

export type AuditSink = (record: AuditRecord) => void;

let sink: AuditSink = (record) => console.log(JSON.stringify({ audit: record }));

export function setAuditSink(next: AuditSink): void {
  sink = next;
}

const httpSinkFor = perConfig(
  (config) => config.auditSink ?? null,
  (config) =>
    config.auditSink ? createHttpAuditSink({ url: config.auditSink.url, secret: config.auditSink.secret }) : undefined,
);
/** The sink of the configuration last asked for: where records that belong to no open request go. */
let lastHttpSink: HttpAuditSink | undefined;

/** The optional signed HTTP sink for this isolate (AUDIT_SINK_URL), created once per configuration. */
export function httpAuditSinkFor(config: Config): HttpAuditSink | undefined {
  lastHttpSink = httpSinkFor(config);
  return lastHttpSink;
}

/** Open requests by requestId: a record of one of them goes to the sink against its reservation. */
const open = new Map<string, RequestTrail>();

/** Starts the trail of one request: its id, its room in the HTTP sink and the records it still owes. */
export function openTrail(
  config: Config,
  httpSink: HttpAuditSink | undefined = httpAuditSinkFor(config),
): RequestTrail {
  const trail = openRequestTrail(crypto.randomUUID(), httpSink, {
    write: (record) => audit(record),
    closed: () => open.delete(trail.requestId),
  });
  open.set(trail.requestId, trail);
  return trail;
}

/** Arguments a tool lets us audit, capped so a caller cannot make one record (or the sink's queue) huge. */
const MAX_AUDITED_ARGUMENTS_CHARS = 2048;

function bounded(record: Omit<AuditRecord, 'time'>): Omit<AuditRecord, 'time'> {
  if (record.arguments === undefined) return record;
  let size: number;
  try {
    size = JSON.stringify(record.arguments).length;
  } catch {
    return { ...record, arguments: { _omitted: 'not serialisable' } };
  }
  return size <= MAX_AUDITED_ARGUMENTS_CHARS ? record : { ...record, arguments: { _omitted: `${size} characters` } };
}

export function audit(record: Omit<AuditRecord, 'time'>): void {
  const full: AuditRecord = { time: new Date().toISOString(), ...bounded(record) };
  try {
    sink(full); // stdout first: whatever happens to the HTTP sink, this line is written
  } catch {
    // An audit sink failure never changes the answer to the caller.
  }
  const trail = open.get(full.requestId);
  if (trail) trail.written(full);
  else lastHttpSink?.enqueue(full);
}

/** Longest a response body may take before its request is settled anyway. */
const SETTLE_WAIT_MS = 30_000;

/**
 * Settles the request once its response body has been sent, or the client went away (tool records of
 * an SSE response are written while it streams), then flushes the HTTP sink through the platform's
 * waitUntil so the response is not delayed and the flush survives the function being frozen.
 */
export function finishAfter(
  response: Response,
  trail: RequestTrail,
  waitUntil?: (task: Promise<unknown>) => void,
): Response {
  let finished = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let settled: ((flushed: Promise<unknown> | undefined) => void) | undefined;
  // Handed to waitUntil now, inside the request: Next's `after` refuses to be called once the
  // handler has returned, which is when the body finishes.
  if (waitUntil) waitUntil(new Promise<unknown>((resolve) => (settled = resolve)));
  const finish = () => {
    if (finished) return;
    finished = true;
    if (timer !== undefined) clearTimeout(timer);
    const flushed = trail.settle();
    settled?.(flushed);
  };
  // Nothing left to reconcile with the tool wrapper: settle now and leave the body untouched.
  if (!response.body || !trail.owes()) {
    finish();
    return response;
  }
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          finish();
          controller.close();
        } else {
          controller.enqueue(value);
        }
      } catch (error) {
        finish();
        controller.error(error);
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason).catch(() => undefined);
    },
  });
  timer = setTimeout(finish, SETTLE_WAIT_MS);
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
