import type { AuthInfo } from '@modelcontextprotocol/server';

/**
 * The request handed to mcp-handler after the gate: the caller's URL, headers without
 * `Authorization` (the SDK never sees the token) and abort signal, the identity in `auth`, and the
 * body bytes the gate already read.
 *
 * Why not the platform's `Request`: mcp-handler reads `req.clone().json()` before it calls the SDK,
 * which on a stream-backed Request tees the stream and re-reads it; and constructing a `Request`
 * at all (a URL parse, an AbortController of its own, header validation) was the largest cost left
 * in forwarding (docs/PERFORMANCE.md). This is the part of a `Request` that mcp-handler 2.4 and the
 * SDK's streamable-HTTP transport read (method, url, headers, signal, clone, the body readers, and
 * `auth`), answered from fields. Anything else they might start to read is absent, so it fails (a
 * 500 with nothing run), never passes; `tests/unit/forwarded-request.test.ts` and every end-to-end
 * test go through it. Each read parses the bytes afresh, so the SDK dispatches the same bytes the
 * gate evaluated, never an object the gate held.
 */
const decoder = new TextDecoder();

export class GatedRequest {
  readonly method = 'POST';
  readonly bodyUsed = false;
  readonly #bytes: Uint8Array<ArrayBuffer>;

  constructor(
    readonly url: string,
    /** A copy of the caller's headers without `Authorization`. */
    readonly headers: Headers,
    bytes: Uint8Array<ArrayBuffer>,
    readonly auth: AuthInfo | undefined,
    /** The caller's own signal: when the client disconnects, the SDK tears the exchange down. */
    readonly signal: AbortSignal,
  ) {
    this.#bytes = bytes;
  }

  /**
   * Its own clone: no read consumes anything, so a copy would differ only by identity. mcp-handler
   * clones only to read `json()` before handing this same request to the SDK.
   */
  clone(): GatedRequest {
    return this;
  }

  get body(): ReadableStream<Uint8Array<ArrayBuffer>> {
    // Only the SDK's fallback reads the stream (a body that failed to parse); a fresh one each time.
    return new Response(this.#bytes).body as ReadableStream<Uint8Array<ArrayBuffer>>;
  }

  text(): Promise<string> {
    return Promise.resolve(decoder.decode(this.#bytes));
  }

  json(): Promise<unknown> {
    return this.text().then((text) => JSON.parse(text) as unknown);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.resolve(this.#bytes.slice().buffer);
  }

  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return Promise.resolve(this.#bytes.slice());
  }

  blob(): Promise<Blob> {
    return Promise.resolve(new Blob([this.#bytes], { type: this.headers.get('content-type') ?? '' }));
  }
}

/** The forwarded request for `request` and the bytes already read from it, typed as what mcp-handler takes. */
export function forwardedRequest(
  request: Request,
  bytes: Uint8Array<ArrayBuffer>,
  auth: AuthInfo | undefined,
): Request {
  const headers = new Headers(request.headers);
  headers.delete('authorization');
  // The one cast: mcp-handler's parameter is a Request, and this answers every part of it they read.
  return new GatedRequest(request.url, headers, bytes, auth, request.signal) as unknown as Request;
}
