/**
 * Error answers. Every error body is a JSON-RPC error object (id null when no single request id
 * is known), with fixed messages: no stack, no internal path, no request bytes echoed.
 */
export type JsonRpcId = string | number | null;

// The project's own codes sit in -32000..-32019, which the 2026-07-28 schema (schema.ts, "MCP
// error codes") leaves implementation-defined: the spec never allocates there (it allocates from
// -32020 up), and -32002 / -32042 (retired) are not used. tests/unit/rpc-errors.test.ts pins this.
export const RPC_ERRORS = {
  parse: -32700,
  invalidRequest: -32600,
  internal: -32603,
  unauthorized: -32001,
  forbidden: -32003,
  unavailable: -32005,
  /** 429: the caller's rate limit for this primitive is used up (Retry-After says when it frees). */
  rateLimited: -32009,
  tooLarge: -32013,
} as const;

/** The one answer when the configuration does not load: no detail (the server log names the variable). */
export function misconfigured(): Response {
  return jsonRpcErrorResponse(500, { code: RPC_ERRORS.internal, message: 'Server misconfigured' });
}

export function jsonRpcErrorResponse(
  status: number,
  error: { code: number; message: string; reason?: string },
  options: { id?: JsonRpcId; headers?: Record<string, string> } = {},
): Response {
  const body = {
    jsonrpc: '2.0',
    id: options.id ?? null,
    error: { code: error.code, message: error.message, ...(error.reason ? { data: { reason: error.reason } } : {}) },
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...options.headers },
  });
}

/**
 * A request refused before anything ran, in the one shape every stage refuses with (the front door,
 * the wire, authentication, the gate): its status and JSON-RPC error, the reason the audit records,
 * and the headers its answer carries. lib/audit/refusals.ts `refuse` records it and answers it.
 */
export type Refusal = {
  status: number;
  code: number;
  message: string;
  /** Why, as the audit record says it; also the error's `data.reason` unless `publicReason` says otherwise. */
  reason: string;
  /** The error's `data.reason` where it differs from `reason`; null for none. */
  publicReason?: string | null;
  headers?: Record<string, string>;
};

/** The answer to a refusal: its JSON-RPC error under the request's id (null when none is known). */
export function refusalResponse(refusal: Refusal, id: JsonRpcId = null): Response {
  const { status, code, message, reason, publicReason = reason, headers } = refusal;
  return jsonRpcErrorResponse(status, { code, message, reason: publicReason ?? undefined }, { id, headers });
}

export function methodNotAllowed(allow: string): Response {
  return jsonRpcErrorResponse(
    405,
    { code: RPC_ERRORS.invalidRequest, message: `Method not allowed; this endpoint is stateless and accepts ${allow}` },
    { headers: { allow } },
  );
}

/**
 * Reads at most `limit` bytes; null when the body is larger (the caller answers 413). Throws when the
 * client goes away mid-body: under `next start` a body whose client hung up neither ends nor errors
 * for the route (measured), so the request's abort signal ends the read instead.
 */
export async function readBodyWithLimit(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer> | null> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) return null;
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const { signal } = request;
  // Cancelling the reader ends a pending read at once (done), whatever the platform's stream does
  // with the cancel; `signal.aborted` then says why it ended. No race and no promise per read.
  const cancel = () => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', cancel, { once: true });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      if (signal.aborted) throw new Error('client aborted');
      const { done, value } = await reader.read();
      if (signal.aborted) throw new Error('client aborted');
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        // Not awaited: under `next start`, with the body still arriving, the cancel of Next's body
        // stream did not settle and the 413 was never sent (tests/security/hostile/app.test.ts, the chunked 1.2 MB row).
        cancel();
        return null;
      }
      chunks.push(value);
    }
  } catch (error) {
    cancel();
    throw error;
  } finally {
    signal.removeEventListener('abort', cancel);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
