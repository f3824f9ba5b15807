import { RPC_ERRORS, type Refusal } from '../http/answers';
import type { Envelope } from './envelope';

/**
 * JSON-RPC batches, decided before anything is gated or audited. Batching exists only in MCP
 * 2025-03-26 (the revision a client without `MCP-Protocol-Version` is assumed to speak); 2025-06-18
 * removed it and no later revision brought it back. @modelcontextprotocol/server 2.4 still executes
 * batches of up to 100 messages under 2025-06-18 and 2025-11-25, so refusing them is our job, and
 * refusing them before the gate is what keeps one request from writing thousands of audit records.
 */

/** The SDK's own batch limit (MAX_BATCH_SIZE in @modelcontextprotocol/server 2.4): longer batches it refuses. */
export const SDK_MAX_BATCH = 100;

/** The revisions whose streamable HTTP transport accepts batches; `null` is a request without the header. */
const BATCHING_REVISIONS: ReadonlySet<string | null> = new Set([null, '2025-03-26']);

export type BatchRefusal = Refusal & { reason: 'batch_not_supported' | 'batch_too_large' };

const refuse = (reason: BatchRefusal['reason'], message: string): BatchRefusal => ({
  status: 400,
  code: RPC_ERRORS.invalidRequest,
  message,
  reason,
});

export function batchRefusal(envelope: Envelope): BatchRefusal | undefined {
  if (!envelope.batch) return undefined;
  if (!BATCHING_REVISIONS.has(envelope.revision)) {
    return refuse(
      'batch_not_supported',
      'JSON-RPC batches are not part of this protocol revision; send one message per request',
    );
  }
  if (envelope.size > SDK_MAX_BATCH) {
    return refuse('batch_too_large', `A JSON-RPC batch may hold at most ${SDK_MAX_BATCH} messages`);
  }
  return undefined;
}
