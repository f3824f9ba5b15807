import type { Principal } from '../auth/principal';
import { type Access, describeAccess } from '../policy';

/**
 * What one audit record holds: one per call (tool, resource read, prompt get, completion) and one
 * per rejected request, with identity
 * facts and never a token. The writer (log.ts), the request's trail (trail.ts, which bounds how
 * many records a request writes) and the signed HTTP copy (http-sink.ts) all read the shape from
 * here, so none of them imports another for it.
 */
export type Decision = 'allow' | 'deny' | 'challenge' | 'reject';
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

export function identityFields(principal: Principal | undefined): Partial<AuditRecord> {
  if (principal?.kind !== 'user') return {};
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
