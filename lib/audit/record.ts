import type { Principal } from '../auth/principal';

/**
 * What one audit record holds: one per call (tool, resource read, prompt get, completion) and one
 * per rejected request, with identity
 * facts and never a token. The writer (log.ts), the request's trail (trail.ts, which bounds how
 * many records a request writes) and the signed HTTP copy (http-sink.ts) all read the shape from
 * here, so none of them imports another for it.
 */
export type AuditDecision = 'allow' | 'deny' | 'challenge' | 'reject';
/** `not_found`: a resource handler found nothing for this caller (answered like an unknown resource); `input_required`: the handler asked the user. */
export type Outcome = 'ok' | 'tool_error' | 'exception' | 'not_run' | 'not_found' | 'input_required';

export type AuditRecord = {
  type: 'tool_call' | 'resource_read' | 'prompt_get' | 'completion' | 'request_rejected';
  time: string;
  requestId: string;
  method?: string;
  tool?: string;
  resource?: string;
  prompt?: string;
  policy?: string;
  decision: AuditDecision;
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

const NO_IDENTITY: Partial<AuditRecord> = Object.freeze({});
// Principals are frozen and shared by the token cache, so their audit fields are worked out once each.
const identities = new WeakMap<Principal, Partial<AuditRecord>>();

export function callerFields(principal: Principal | undefined): Partial<AuditRecord> {
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

/** The record as written: its time, and arguments capped in size. */
export function stamp(record: Omit<AuditRecord, 'time'>): AuditRecord {
  return { time: now(), ...bounded(record) };
}
