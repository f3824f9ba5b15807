import { createHttpAuditSink, type HttpAuditSink } from './http-sink';
import { openRequestTrail, type RequestTrail, type TrailObserver } from './trail';
import { perConfig, type Config } from '../config';
import { stamp, type AuditRecord } from './record';

/**
 * Writes audit records: one JSON line each through the request's line writer (stdout unless the
 * endpoint was handed another, as tests do; Vercel log drains pick stdout up) and, when
 * AUDIT_SINK_URL is set, a signed HTTP copy (Standard Webhooks) against the request's reservation.
 */

/** Where one stamped record's line goes. */
export type AuditSink = (record: AuditRecord) => void;

/**
 * The default sink: one JSON line `{"audit":{...}}` on stdout. The envelope is written around the
 * record's own serialization, so the record is stringified once and no wrapper object is built.
 */
export const stdoutAuditSink: AuditSink = (record) => console.log(`{"audit":${JSON.stringify(record)}}`);

const httpSinkFor = perConfig(
  (config) => config.auditSink ?? null,
  (config) =>
    config.auditSink
      ? createHttpAuditSink({ url: config.auditSink.url, secrets: config.auditSink.secrets })
      : undefined,
);
/** The optional signed HTTP sink for this isolate (AUDIT_SINK_URL), created once per configuration. */
export function httpAuditSinkFor(config: Config): HttpAuditSink | undefined {
  return httpSinkFor(config);
}

/**
 * Starts the trail of one request: its id, its room in the HTTP sink and the records it still owes.
 * Every stage that audits this request writes through the trail it is handed (`trail.write`).
 */
export function openTrail(
  config: Config,
  httpSink: HttpAuditSink | undefined = httpAuditSinkFor(config),
  line: AuditSink = stdoutAuditSink,
  observer?: TrailObserver,
): RequestTrail {
  return openRequestTrail(crypto.randomUUID(), httpSink, { write: safely(line), closed: () => {} }, observer);
}

/** The line writer, made harmless: an audit sink failure never changes the answer to the caller. */
function safely(line: AuditSink): AuditSink {
  return (record) => {
    try {
      line(record);
    } catch {
      // the answer goes on
    }
  };
}

/**
 * A record outside any request's trail (a caller no endpoint minted): its line only. A request's
 * stages write through `trail.write` instead, which adds the HTTP copy against its reservation.
 */
export function audit(record: Omit<AuditRecord, 'time'>, line: AuditSink = stdoutAuditSink): void {
  safely(line)(stamp(record));
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
