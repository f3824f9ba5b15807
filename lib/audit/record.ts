import type { CallerKind } from '../auth/caller-kind';
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
  type: 'tool_call' | 'resource_read' | 'prompt_get' | 'completion' | 'request_rejected' | 'webhook_event';
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
  /** Who held the token: a person, a machine or an agent (lib/auth/caller-kind.ts). */
  caller_kind?: CallerKind;
  sub?: string;
  /** The RFC 8693 actor chain (`act.sub`, current actor first), when the token was exchanged. */
  act?: string[];
  org_id?: string;
  client_id?: string;
  sid?: string;
  jti?: string;
  scopes?: string[];
  arguments?: Record<string, unknown>;
  /** webhook_event: the WorkOS event type and id, and the deny-list entries it wrote (`kind:id`). */
  event?: string;
  event_id?: string;
  denied?: string[];
};

/** The caller's identity facts as a record carries them (never the token); none for an anonymous caller. */
export function callerFields(principal: Principal | undefined): Partial<AuditRecord> {
  if (principal?.kind !== 'user') return {};
  return {
    caller_kind: principal.callerKind,
    sub: principal.subject,
    ...(principal.actors.length > 0 && { act: principal.actors }),
    org_id: principal.organizationId,
    client_id: principal.clientId,
    sid: principal.sessionId,
    jti: principal.tokenId,
    scopes: principal.scopes,
  };
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

/** The record as written: its time, and arguments capped in size. */
export function stamp(record: Omit<AuditRecord, 'time'>): AuditRecord {
  return { time: new Date().toISOString(), ...bounded(record) };
}
