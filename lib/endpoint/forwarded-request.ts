import type { AuthInfo } from '@modelcontextprotocol/server';

/**
 * The request handed to mcp-handler after the gate: the caller's URL, headers without
 * `Authorization` (the SDK never sees the token) and abort signal, the identity in `auth`, and the
 * body bytes the gate already read.
 *
 * Why a subclass: mcp-handler reads `req.clone().json()` before it calls the SDK. On a
 * stream-backed Request that tees the stream and re-reads it, which cost more than the whole gate
 * (docs/PERFORMANCE.md). Here the body readers answer from the bytes in hand: each read parses them
 * afresh, so the SDK dispatches the same bytes the gate evaluated, never an object the gate held.
 *
 * `headers` and `signal` are answered from fields, not passed to the constructor: given a signal,
 * the platform's Request links a new AbortController to it (a listener and a finalization entry per
 * request), and given headers it validates each one again; both showed as the largest single cost
 * of the forwarded request in the in-process profile.
 */
const decoder = new TextDecoder();

export class GatedRequest extends Request {
  readonly #bytes: Uint8Array<ArrayBuffer>;
  readonly #headers: Headers;
  readonly #signal: AbortSignal;

  constructor(
    url: string,
    headers: Headers,
    bytes: Uint8Array<ArrayBuffer>,
    auth: AuthInfo | undefined,
    signal: AbortSignal,
  ) {
    super(url, { method: 'POST' });
    this.#headers = headers;
    this.#signal = signal;
    this.#bytes = bytes;
    this.auth = auth;
  }

  override get headers(): Headers {
    return this.#headers;
  }

  /** The caller's own signal: when the client disconnects, the SDK tears the exchange down. */
  override get signal(): AbortSignal {
    return this.#signal;
  }

  /**
   * Its own clone: no read consumes anything, so a copy would differ only by identity. mcp-handler
   * clones only to read `json()` before handing this same request to the SDK.
   */
  override clone(): GatedRequest {
    return this;
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> {
    // Only the SDK's fallback reads the stream (a body that failed to parse); a fresh one each time.
    return new Response(this.#bytes).body as ReadableStream<Uint8Array<ArrayBuffer>>;
  }

  override text(): Promise<string> {
    return Promise.resolve(decoder.decode(this.#bytes));
  }

  override json(): Promise<unknown> {
    return this.text().then((text) => JSON.parse(text) as unknown);
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.resolve(this.#bytes.slice().buffer);
  }

  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return Promise.resolve(this.#bytes.slice());
  }

  override blob(): Promise<Blob> {
    return Promise.resolve(new Blob([this.#bytes], { type: this.headers.get('content-type') ?? '' }));
  }
}

/** The forwarded request for `request` and the bytes already read from it. */
export function forwardedRequest(
  request: Request,
  bytes: Uint8Array<ArrayBuffer>,
  auth: AuthInfo | undefined,
): GatedRequest {
  const headers = new Headers(request.headers);
  headers.delete('authorization');
  return new GatedRequest(request.url, headers, bytes, auth, request.signal);
}
