// WorkOS-shaped webhook deliveries from the local authorization server to the MCP server's
// /webhooks/workos: the event object WorkOS sends, signed the way WorkOS signs it
// (`WorkOS-Signature: t=<ms>, v1=<hex HMAC-SHA256(secret, "<ms>.<body>")>`). Development and tests only.

import { createHmac, randomBytes } from 'node:crypto';

export type WorkosEventBody = { id: string; event: string; data: Record<string, unknown>; created_at: string };

export function workosEvent(event: string, data: Record<string, unknown>, at = new Date()): WorkosEventBody {
  // WorkOS event ids look like event_<26 characters>; uniqueness is what matters here.
  return { id: `event_${randomBytes(13).toString('hex').toUpperCase()}`, event, data, created_at: at.toISOString() };
}

export function workosSignature(secret: string, body: string, timestampMs = Date.now()): string {
  const digest = createHmac('sha256', secret).update(`${timestampMs}.${body}`).digest('hex');
  return `t=${timestampMs}, v1=${digest}`;
}

/** POSTs one event, signed; resolves with the receiver's status (bounded by `timeoutMs`, default 5 s). */
export async function sendWorkosWebhook(
  url: string,
  secret: string,
  event: WorkosEventBody,
  options: { timestampMs?: number; signature?: string; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  const body = JSON.stringify(event);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'workos-signature': options.signature ?? workosSignature(secret, body, options.timestampMs),
    },
    body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
  });
  return { status: response.status, body: await response.text() };
}
