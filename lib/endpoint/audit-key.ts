import type { AuditRecord } from '../audit/record';
import type { CallMethod } from '../wire/envelope';

/**
 * How the endpoint's owed records and the wrapper's runs find each other in the request's trail
 * (lib/audit/trail.ts): a tool by its name, as before; other primitives by method and name, so a
 * tool and a prompt that share a name never cover each other's record.
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
