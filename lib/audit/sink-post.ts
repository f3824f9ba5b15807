import { Webhook } from 'standardwebhooks';

/**
 * One signed POST of an audit batch, as Standard Webhooks: `webhook-id` (the batch, the same on every
 * attempt), `webhook-timestamp` (this attempt, unix seconds) and `webhook-signature` (`v1,<base64>`
 * for each secret, space separated: two while rotating). The signature is the library's own.
 */

/** The failure of one attempt, or undefined when the receiver answered 2xx. Never throws. */
export type SignedPost = (id: string, body: string) => Promise<string | undefined>;

export function signedPost(options: {
  url: string;
  secrets: readonly string[];
  timeoutMs: number;
  fetch?: typeof fetch;
}): SignedPost {
  const { url, timeoutMs } = options;
  const signers = options.secrets.map((secret) => new Webhook(secret));
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  return async (id, body) => {
    try {
      const now = new Date();
      const init: RequestInit & { opentelemetry?: { ignore: boolean } } = {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': signers.map((signer) => signer.sign(id, now, body)).join(' '),
        },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
        // No span for it (@vercel/otel's fetch spans record the full URL; a receiver may take a token in its query).
        opentelemetry: { ignore: true },
      };
      const response = await doFetch(url, init);
      // The answer's body is not needed; release the connection.
      await response.body?.cancel().catch(() => undefined);
      return response.ok ? undefined : `HTTP ${response.status}`;
    } catch (error) {
      return describeFailure(error, timeoutMs);
    }
  };
}

function describeFailure(error: unknown, timeoutMs: number): string {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
  if (name === 'AbortError') return 'aborted';
  // Deliberately not the error message: it may quote the URL.
  return name ? `network error (${name})` : 'network error';
}
