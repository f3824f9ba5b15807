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

export function audit(record: Omit<AuditRecord, 'time'>): void {
  try {
    sink({ time: new Date().toISOString(), ...record });
  } catch {
    // An audit sink failure never changes the answer to the caller.
  }
}
