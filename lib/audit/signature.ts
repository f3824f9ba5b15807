/**
 * The audit sink's signature (for receivers): HMAC-SHA256 over `timestamp + "." + body` with
 * AUDIT_SINK_SECRET as UTF-8 bytes, sent as `x-audit-signature: sha256=<lowercase hex>` next to
 * `x-audit-timestamp: <unix seconds>`. Web Crypto only, so it runs on the Edge and in receivers alike.
 */
export const SIGNATURE_HEADER = 'x-audit-signature';
export const TIMESTAMP_HEADER = 'x-audit-timestamp';

const encoder = new TextEncoder();

export function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

export function toHex(bytes: ArrayBuffer): string {
  let out = '';
  for (const byte of new Uint8Array(bytes)) out += byte.toString(16).padStart(2, '0');
  return out;
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** The signed message: timestamp + "." + body, as bytes. */
export function signedMessage(timestamp: string, body: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = encoder.encode(`${timestamp}.`);
  const bodyBytes = typeof body === 'string' ? encoder.encode(body) : body;
  const message = new Uint8Array(prefix.length + bodyBytes.length);
  message.set(prefix, 0);
  message.set(bodyBytes, prefix.length);
  return message;
}

/** `sha256=<hex>` for the given secret, timestamp and body. */
export async function signAuditPayload(secret: string, timestamp: string, body: string): Promise<string> {
  const key = await hmacKey(secret, 'sign');
  return `sha256=${toHex(await crypto.subtle.sign('HMAC', key, signedMessage(timestamp, body)))}`;
}

/**
 * Checks an `x-audit-signature` header against the secret, the `x-audit-timestamp` header and the raw
 * body. False (never throws) for a malformed header, a timestamp further than `toleranceSeconds` from
 * `now` (unix seconds, default: the current time) in either direction, or a MAC mismatch. The MAC is
 * compared by crypto.subtle.verify, which is constant-time.
 */
export async function verifyAuditSignature(input: {
  secret: string;
  timestamp: string;
  body: string | Uint8Array;
  signature: string;
  now?: number;
  toleranceSeconds?: number;
}): Promise<boolean> {
  const { secret, timestamp, body, signature, toleranceSeconds = 300 } = input;
  const now = input.now ?? Date.now() / 1000;
  if (!/^[0-9]{1,12}$/.test(timestamp)) return false;
  if (!(Math.abs(now - Number(timestamp)) <= toleranceSeconds)) return false;
  const match = /^sha256=([0-9a-f]{64})$/.exec(signature);
  if (!match?.[1] || secret.length === 0) return false;
  try {
    const key = await hmacKey(secret, 'verify');
    return await crypto.subtle.verify('HMAC', key, fromHex(match[1]), signedMessage(timestamp, body));
  } catch {
    return false;
  }
}
