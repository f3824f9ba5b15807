import type { AuditRecord } from './audit';

/**
 * An HTTP audit sink: audit records are queued in memory and POSTed in batches to AUDIT_SINK_URL,
 * signed with HMAC-SHA256 so the receiver can tell they came from this server. Edge-safe: only
 * `fetch`, `AbortSignal.timeout` and Web Crypto (`crypto.subtle`), no Node built-ins.
 *
 * This sink is an additional copy of the trail. The stdout JSON line written by lib/audit.ts is the
 * primary record and is never affected by anything here (queue overflow, delivery failures).
 *
 * ## Wire format and signature (for receivers)
 *
 *   POST <AUDIT_SINK_URL>
 *   content-type: application/json
 *   x-audit-timestamp: <unix time in whole seconds, decimal, e.g. 1767225600>
 *   x-audit-signature: sha256=<lowercase hex of HMAC-SHA256(key = secret, message = timestamp + "." + body)>
 *
 *   {"records":[<AuditRecord>, ...]}          (records in the order they were enqueued)
 *
 * `secret` is AUDIT_SINK_SECRET as UTF-8 bytes; `body` is the exact bytes of the request body (verify
 * the raw bytes, before any JSON parsing or re-serialisation); `timestamp` is the header value as sent.
 * The timestamp is inside the MAC so a captured request cannot be replayed later with a fresh
 * timestamp: receivers must reject timestamps outside a small window (verifyAuditSignature uses
 * ±300 s) and compare MACs in constant time. `verifyAuditSignature` below does all of that; a
 * receiver wanting exactly-once storage should additionally de-duplicate on (requestId, time, type),
 * since a batch whose response was lost may be delivered again (see "Failed deliveries").
 *
 * ## Failed deliveries
 *
 * A flush that fails (network error, timeout, non-2xx answer, redirect) resolves `{ ok: false }`,
 * logs one line and re-queues the batch ONCE at the front of the queue, as far as there is room under
 * `maxQueue` (when there is not, the oldest records of the failed batch are dropped and counted).
 * Records that fail a second time are dropped and counted. So a record is attempted at most twice
 * and a dead sink can never grow memory beyond `maxQueue` records.
 */

export type FlushResult = { ok: boolean; sent: number; failed: number };

export type HttpAuditSink = {
  /** Queues a record for the next flush. Synchronous, never throws; drops the oldest queued record when full. */
  enqueue(record: AuditRecord): void;
  /** POSTs everything queued as one signed request. Never throws or rejects. */
  flush(): Promise<FlushResult>;
  /** Records queued and not yet taken by a flush. */
  pending(): number;
  /** Records dropped so far (queue overflow, unserialisable records, second delivery failures). */
  dropped(): number;
};

export type HttpAuditSinkOptions = {
  url: string;
  secret: string;
  fetch?: typeof fetch;
  /** Per-request timeout (default 5000 ms). */
  timeoutMs?: number;
  /** Most records held for the HTTP sink (default 1000). */
  maxQueue?: number;
  /** Where operational log lines go (default console.error). Never receives secrets or record contents. */
  log?: (line: string) => void;
};

export const SIGNATURE_HEADER = 'x-audit-signature';
export const TIMESTAMP_HEADER = 'x-audit-timestamp';

const encoder = new TextEncoder();

/** One queued record, serialised at enqueue time (a later mutation of the object cannot change it). */
type Entry = { json: string; attempts: number };

function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

function toHex(bytes: ArrayBuffer): string {
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
function signedMessage(timestamp: string, body: string | Uint8Array): Uint8Array<ArrayBuffer> {
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

function describeFailure(error: unknown, timeoutMs: number): string {
  const name = error instanceof Error ? error.name : '';
  if (name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
  if (name === 'AbortError') return 'aborted';
  // Deliberately not the error message: it may quote the URL.
  return name ? `network error (${name})` : 'network error';
}

export function createHttpAuditSink(options: HttpAuditSinkOptions): HttpAuditSink {
  const { secret, timeoutMs = 5000, maxQueue = 1000 } = options;
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const log = options.log ?? ((line: string) => console.error(line));

  let target: URL;
  try {
    target = new URL(options.url);
  } catch {
    throw new TypeError('audit sink: url is not a valid URL');
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new TypeError('audit sink: url must be http(s)');
  if (target.username || target.password) throw new TypeError('audit sink: url must not contain credentials');
  if (!secret) throw new TypeError('audit sink: secret must not be empty');
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new TypeError('audit sink: timeoutMs must be a positive number');
  if (!(Number.isInteger(maxQueue) && maxQueue > 0)) throw new TypeError('audit sink: maxQueue must be a positive integer');

  const url = target.toString();
  // Only the origin goes into log lines: no credentials, path or query.
  const where = target.origin;

  let queue: Entry[] = [];
  let droppedTotal = 0;
  let droppedUnreported = 0;
  let keyPromise: Promise<CryptoKey> | undefined;

  const safeLog = (line: string) => {
    try {
      log(line);
    } catch {
      // Logging must not break delivery.
    }
  };

  const drop = (count: number) => {
    droppedTotal += count;
    droppedUnreported += count;
  };

  const signingKey = (): Promise<CryptoKey> => {
    if (!keyPromise) {
      keyPromise = hmacKey(secret, 'sign');
      keyPromise.catch(() => (keyPromise = undefined));
    }
    return keyPromise;
  };

  /** Puts a failed batch back at the front, once per record, within maxQueue; drops the rest. */
  const requeue = (batch: Entry[]) => {
    const retry = batch.filter((entry) => entry.attempts < 2);
    let lost = batch.length - retry.length;
    const room = Math.max(0, maxQueue - queue.length);
    // Keep the newest of the failed records when there is not room for all (same rule as overflow).
    const kept = retry.slice(Math.max(0, retry.length - room));
    lost += retry.length - kept.length;
    queue = [...kept, ...queue];
    if (lost > 0) drop(lost);
  };

  const enqueue = (record: AuditRecord): void => {
    let json: string;
    try {
      json = JSON.stringify(record);
    } catch {
      drop(1); // e.g. a BigInt or a cycle in `arguments`; the stdout line reports its own failure.
      return;
    }
    queue.push({ json, attempts: 0 });
    if (queue.length > maxQueue) {
      queue.splice(0, queue.length - maxQueue);
      drop(1);
    }
  };

  const flush = async (): Promise<FlushResult> => {
    if (droppedUnreported > 0) {
      safeLog(`[audit] sink queue: dropped ${droppedUnreported} record(s) (queue limit ${maxQueue} or failed retry)`);
      droppedUnreported = 0;
    }
    if (queue.length === 0) return { ok: true, sent: 0, failed: 0 };

    // Take the whole queue synchronously: a concurrent flush sees only what is enqueued after this.
    const batch = queue;
    queue = [];
    for (const entry of batch) entry.attempts++;
    const n = batch.length;

    let failure: string | undefined;
    try {
      const body = `{"records":[${batch.map((entry) => entry.json).join(',')}]}`;
      const timestamp = String(Math.floor(Date.now() / 1000));
      const mac = await crypto.subtle.sign('HMAC', await signingKey(), signedMessage(timestamp, body));
      const response = await doFetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: `sha256=${toHex(mac)}`,
        },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
      // The answer's body is not needed; release the connection.
      await response.body?.cancel().catch(() => undefined);
      if (!response.ok) failure = `HTTP ${response.status}`;
    } catch (error) {
      failure = describeFailure(error, timeoutMs);
    }

    if (failure === undefined) return { ok: true, sent: n, failed: 0 };
    requeue(batch);
    safeLog(`[audit] sink delivery failed: ${failure} (${n} records, ${where})`);
    return { ok: false, sent: 0, failed: n };
  };

  return {
    enqueue: (record) => {
      try {
        enqueue(record);
      } catch {
        // enqueue never throws
      }
    },
    flush: () => flush().catch(() => ({ ok: false, sent: 0, failed: 0 })),
    pending: () => queue.length,
    dropped: () => droppedTotal,
  };
}
