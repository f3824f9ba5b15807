import type { AuditRecord } from '../audit/record';
import type { Principal } from '../auth/principal';
import { callerFields } from '../audit/record';
import { describeAccess } from '../policy';
import type { Primitive } from '../registry';
import type { Call, CallMethod } from '../wire/envelope';
import type { GatedCall } from './gate';

/**
 * The audit records of calls, as the endpoint and the wrapper write them: the key that pairs a
 * wrapper run with the endpoint's owed record (lib/audit/trail.ts), the record type of each method,
 * and the record of a call that never reached a handler.
 */

/** What the audit keeps of a primitive name or URI a caller chose. */
const MAX_NAME_CHARS = 64;

/**
 * A tool by its name, as before; other primitives by method and name, so a tool and a prompt that
 * share a name never cover each other's record.
 */
export function auditKey(method: CallMethod, name: string): string {
  return method === 'tools/call' ? name : `${method} ${name}`;
}

/** The record type of each call method. */
export const RECORD_TYPES: Record<CallMethod, AuditRecord['type']> = {
  'tools/call': 'tool_call',
  'resources/read': 'resource_read',
  'prompts/get': 'prompt_get',
  'completion/complete': 'completion',
};

/** Why a call the gate allowed did not reach the wrapper, from what the SDK answered and the call's shape. */
function notRunReason(call: GatedCall, status: number, aborted: boolean): string {
  if (status >= 400) return 'request_refused';
  if (status === 202 || call.site.notification) return 'not_dispatched'; // the SDK never runs a notification
  if (!call.site.wellFormed) return 'invalid_params';
  if (sdkRejectsArguments(call)) return 'invalid_arguments';
  return aborted ? 'client_aborted' : 'sdk_refused';
}

/**
 * Whether the SDK will refuse this call's arguments before our wrapper runs. It mirrors the SDK's
 * own input validation (the tool's or prompt's zod schema over `arguments ?? {}`): if mcp-handler or
 * the SDK changes how it validates, this is the one place to follow.
 */
function sdkRejectsArguments({ site, primitive }: GatedCall): boolean {
  if (site.method === 'completion/complete') return false;
  if (primitive.kind === 'tool') return !primitive.definition.input.safeParse(site.arguments ?? {}).success;
  if (primitive.kind === 'prompt' && primitive.definition.arguments)
    return !primitive.definition.arguments.safeParse(site.arguments ?? {}).success;
  return false;
}

/** What the record says the call reached: the tool, resource or prompt name, and its policy. */
function targetFields(site: Call, primitive: Primitive | undefined): Partial<AuditRecord> {
  if (!primitive) {
    const name = site.name?.slice(0, MAX_NAME_CHARS);
    if (site.method === 'tools/call') return { tool: name };
    return site.method === 'prompts/get' || site.ref === 'prompt' ? { prompt: name } : { resource: name };
  }
  const policy = describeAccess(primitive.definition.access);
  return { [primitive.kind]: primitive.definition.name, policy };
}

/** The reason an unknown (or hidden) primitive's call is recorded with. */
const UNKNOWN_REASON: Record<Call['method'], string> = {
  'tools/call': 'unknown_tool',
  'resources/read': 'unknown_resource',
  'prompts/get': 'unknown_prompt',
  'completion/complete': 'unknown_reference',
};

/** The record of a call that was not run, for the gate's decision and the request's final status. */
export function notRunRecord(
  site: Call,
  call: GatedCall | undefined,
  context: { requestId: string; status: number; aborted: boolean; durationMs: number; principal: Principal },
): Omit<AuditRecord, 'time'> {
  const { requestId, status, durationMs } = context;
  // Field order as every other record writes it: log consumers and greps rely on it.
  const record = (fields: Pick<AuditRecord, 'decision' | 'reason'>): Omit<AuditRecord, 'time'> => ({
    type: RECORD_TYPES[site.method],
    requestId,
    method: site.method,
    ...targetFields(site, call?.primitive),
    ...fields,
    status,
    outcome: 'not_run',
    durationMs,
    ...callerFields(context.principal),
  });
  if (!call) {
    // Unknown primitive, or no name at all: the SDK answers it; the record says which.
    return record({
      decision: 'reject',
      reason: site.name === undefined ? 'invalid_params' : UNKNOWN_REASON[site.method],
    });
  }
  const { decision } = call;
  switch (decision.effect) {
    case 'challenge':
      return record({ decision: 'challenge', reason: decision.challenge.kind });
    case 'deny':
      return record({ decision: 'deny', reason: decision.reason });
    case 'unavailable':
      return record({ decision: 'deny', reason: 'identity_unavailable' });
    case 'allow':
      // A request state that is not even a string is refused by the SDK before our hook: still a refused state.
      if (site.stateMalformed && status < 400 && !site.notification)
        return record({ decision: 'reject', reason: 'request_state_malformed' });
      return record({ decision: 'allow', reason: notRunReason(call, status, context.aborted) });
  }
}
