import type { Principal } from '../auth/principal';
import type { OnRefused } from '../http/front-door';
import { refusalResponse, type JsonRpcId, type Refusal } from '../http/answers';
import { finishAfter, openTrail } from './log';
import { callerFields, type AuditRecord } from './record';
import type { RequestTrail } from './trail';

/**
 * Refusals, audited: every stage that refuses a request (the front door, the endpoint's stages)
 * records it and answers it here, so a refusal is never answered without its record.
 */

/** What the record says of the refused request: its id and method, who asked, how long it took. */
export type RefusedAt = { id?: JsonRpcId; method?: string; principal?: Principal; durationMs?: number };

/** The one `request_rejected` record; alone for a request the SDK refused (its answer is the SDK's). */
export function recordRejection(trail: RequestTrail, refusal: Pick<Refusal, 'status' | 'reason'>, at: RefusedAt): void {
  trail.write({
    type: 'request_rejected',
    requestId: trail.requestId,
    method: at.method,
    decision: 'reject',
    reason: refusal.reason,
    status: refusal.status,
    durationMs: at.durationMs,
    ...callerFields(at.principal),
  });
}

/**
 * Records a refusal and builds its answer. Its record is one `request_rejected`, or, once the
 * request's calls were gated, `calls`: one not-run record per call, which then stands for the request.
 */
export function refuse(
  trail: RequestTrail,
  refusal: Refusal,
  at: RefusedAt = {},
  calls?: readonly Omit<AuditRecord, 'time'>[],
): Response {
  if (calls) for (const record of calls) trail.write(record);
  else recordRejection(trail, refusal, at);
  trail.refused(refusal);
  return refusalResponse(refusal, at.id);
}

/** The front door's refusals: their records' HTTP copy flushed through `waitUntil` after the response. */
export function auditRefusals(waitUntil: (task: Promise<unknown>) => void): OnRefused {
  return async (request, config, refusal) => {
    const trail = openTrail(config);
    await trail.reserve(1);
    const method = request.method === 'OPTIONS' ? 'preflight' : undefined;
    return finishAfter(refuse(trail, refusal, { method, durationMs: 0 }), trail, waitUntil);
  };
}
