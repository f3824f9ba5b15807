import { createHttpAuditSink, type HttpAuditSink } from './audit-sink';
import { perConfig, type Config } from './config';
import { describeAccess, type Access } from './policy';
import type { Principal } from './auth/principal';

/**
 * The audit trail: one record per tool-call decision and one per rejected request, as JSON lines
 * on stdout (Vercel log drains pick them up). Records carry identity facts, never a token.
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

let sink: AuditSink = (record) => console.log(JSON.stringify({ audit: record }));

export function setAuditSink(next: AuditSink): void {
  sink = next;
}

export function identityFields(principal: Principal | undefined): Partial<AuditRecord> {
  if (!principal || principal.kind !== 'user') return {};
  return {
    sub: principal.subject,
    org_id: principal.organizationId,
    client_id: principal.clientId,
    sid: principal.sessionId,
    jti: principal.tokenId,
    scopes: principal.scopes,
  };
}

export function policyField(access: Access): string {
  return describeAccess(access);
}

const httpSinkFor = perConfig(
  (config) => config.auditSink ?? null,
  (config) => (config.auditSink ? createHttpAuditSink({ url: config.auditSink.url, secret: config.auditSink.secret }) : undefined),
);
/** The sink of the configuration last asked for: the one this isolate's records go to. */
let httpSink: HttpAuditSink | undefined;

/** The optional signed HTTP sink for this isolate (AUDIT_SINK_URL), created once per configuration. */
export function httpAuditSinkFor(config: Config): HttpAuditSink | undefined {
  httpSink = httpSinkFor(config);
  return httpSink;
}

export function audit(record: Omit<AuditRecord, 'time'>): void {
  const full: AuditRecord = { time: new Date().toISOString(), ...record };
  try {
    sink(full); // stdout first: whatever happens to the HTTP sink, this line is written
  } catch {
    // An audit sink failure never changes the answer to the caller.
  }
  httpSink?.enqueue(full);
}

/** Longest a request keeps its function alive waiting for its body to finish before flushing. */
const FLUSH_WAIT_MS = 30_000;

/**
 * Flushes the HTTP sink once the response body has been fully sent (tool records of an SSE
 * response are written while it streams), through the platform's waitUntil so the response is
 * not delayed and the flush survives the function being frozen.
 */
export function flushAuditAfter(
  response: Response,
  config: Config,
  waitUntil: ((task: Promise<unknown>) => void) | undefined,
): Response {
  const sink = httpAuditSinkFor(config);
  if (!sink || !waitUntil) return response;
  if (!response.body) {
    waitUntil(sink.flush());
    return response;
  }
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const body = response.body.pipeThrough(new TransformStream({ flush: () => finished() }));
  const bounded = Promise.race([done, new Promise<void>((resolve) => setTimeout(resolve, FLUSH_WAIT_MS))]);
  waitUntil(bounded.then(() => sink.flush()));
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
