import { createHttpAuditSink, type HttpAuditSink } from './audit-sink';
import { openRequestTrail, type RequestTrail } from './audit-trail';
import { perConfig, type Config } from './config';
import { describeAccess, type Access } from './policy';
import type { Principal } from './auth/principal';

/**
 * The audit trail: one record per tool call and one per rejected request, as JSON lines on stdout
 * (Vercel log drains pick them up), and optionally a signed HTTP copy (lib/audit-sink.ts). Records
 * carry identity facts, never a token. How many records one request can write is bounded and
 * documented in lib/audit-trail.ts.
 */
export type Decision = 'allow' | 'deny' | 'challenge' | 'reject';
export type Outcome = 'ok' | 'tool_error' | 'exception' | 'not_run';

export type AuditRecord = {
  type: 'tool_call' | 'request_rejected';
  time: string;
  requestId: string;
  method?: string;
  tool?: string;
  policy?: string;
  decision: Decision;
  reason?: string;
  status?: number;
  outcome?: Outcome;
  durationMs?: number;
  sub?: string;
  org_id?: string;
  client_id?: string;
  sid?: string;
  jti?: string;
  scopes?: string[];
  arguments?: Record<string, unknown>;
};

export type AuditSink = (record: AuditRecord) => void;

/**
 * The default sink: one JSON line `{"audit":{...}}` on stdout. The envelope is written around the
 * record's own serialization, so the record is stringified once and no wrapper object is built.
 */
export const stdoutAuditSink: AuditSink = (record) => console.log(`{"audit":${JSON.stringify(record)}}`);

let sink: AuditSink = stdoutAuditSink;

export function setAuditSink(next: AuditSink): void {
  sink = next;
}

const NO_IDENTITY: Partial<AuditRecord> = Object.freeze({});
// Principals are frozen and shared by the token cache, so their audit fields are worked out once each.
const identities = new WeakMap<Principal, Partial<AuditRecord>>();

export function identityFields(principal: Principal | undefined): Partial<AuditRecord> {
  if (principal?.kind !== 'user') return NO_IDENTITY;
  let fields = identities.get(principal);
  if (!fields) {
    fields = Object.freeze({
      sub: principal.subject,
      org_id: principal.organizationId,
      client_id: principal.clientId,
      sid: principal.sessionId,
      jti: principal.tokenId,
      scopes: principal.scopes,
    });
    identities.set(principal, fields);
  }
  return fields;
}

// A tool's policy never changes after the registry loads: described once per policy object.
const policies = new WeakMap<object, string>();

export function policyField(access: Access): string {
  if (typeof access === 'string') return access;
  let described = policies.get(access);
  if (described === undefined) {
    described = describeAccess(access);
    policies.set(access, described);
  }
  return described;
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

// Records written in the same millisecond share one timestamp string (toISOString is the dearer part).
let lastMs = Number.NaN;
let lastIso = '';
function now(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

export function audit(record: Omit<AuditRecord, 'time'>): void {
  const full: AuditRecord = { time: now(), ...bounded(record) };
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
