import { WorkOS } from '@workos-inc/node';
import type { SharedStore } from '../shared-state';
import { denyKey } from './deny-list';
import { denialsFor, WorkosEventSchema } from './events';

/**
 * The WorkOS webhook receiver's decision, with the shared store at its edge: the signature
 * (`WorkOS-Signature: t=<ms>, v1=<hex HMAC-SHA256(secret, "t.body")>`, checked by
 * `@workos-inc/node`'s WebCrypto build), the replay window (180 s), the event id applied once, then
 * the deny-list entries written. Whatever is refused changes nothing; the caller audits every outcome.
 */

/** WorkOS's own tolerance: a delivery signed longer ago than this is a replay, whatever its signature. */
export const WEBHOOK_TOLERANCE_MS = 180_000;
/** Largest body read; WorkOS events are a few kilobytes. */
const MAX_BODY_BYTES = 256 * 1024;
/** How long an applied event id is remembered: longer than WorkOS keeps retrying a delivery. */
const SEEN_TTL_SECONDS = 7 * 24 * 60 * 60;

export type WebhookReason =
  | 'applied'
  | 'ignored'
  | 'duplicate'
  | 'bad_signature'
  | 'stale_timestamp'
  | 'malformed'
  | 'too_large'
  | 'store_unavailable'
  | 'not_configured';

export type WebhookOutcome = {
  status: number;
  reason: WebhookReason;
  eventId?: string;
  eventType?: string;
  /** The deny-list entries written, as `kind:id` (ids are WorkOS object ids, never secrets). */
  denied?: string[];
};

export type WebhookOptions = {
  secret: string | undefined;
  store: SharedStore | undefined;
  /** How long an entry lives: the longest token it could cover (max lifetime + clock tolerance). */
  denyTtlSeconds: number;
  now?: () => number;
};

// Verifying needs no API key; a client id satisfies the constructor.
let verifier: WorkOS | undefined;
function webhooks() {
  verifier ??= new WorkOS({ clientId: 'webhook-verifier' });
  return verifier.webhooks;
}

/** The `t=` of a WorkOS-Signature header, in epoch milliseconds, or undefined. */
export function signatureTimestamp(header: string): number | undefined {
  const match = /^\s*t=(\d{1,16})\s*,/.exec(header);
  const t = match ? Number(match[1]) : Number.NaN;
  return Number.isSafeInteger(t) ? t : undefined;
}

async function readLimited(request: Request): Promise<string | undefined> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) return undefined;
  const bytes = new Uint8Array(await request.arrayBuffer());
  return bytes.byteLength > MAX_BODY_BYTES ? undefined : new TextDecoder().decode(bytes);
}

/** Revocation time of an event: when WorkOS says it happened, else now (epoch seconds). */
function revokedAt(createdAt: string | undefined, now: number): number {
  const parsed = createdAt ? Date.parse(createdAt) : Number.NaN;
  return Math.floor((Number.isFinite(parsed) && parsed <= now ? parsed : now) / 1000);
}

export async function receiveWorkosWebhook(request: Request, options: WebhookOptions): Promise<WebhookOutcome> {
  const now = (options.now ?? Date.now)();
  const { secret, store } = options;
  if (!secret || !store) return { status: 503, reason: 'not_configured' };
  const body = await readLimited(request).catch(() => undefined);
  if (body === undefined) return { status: 413, reason: 'too_large' };
  const header = request.headers.get('workos-signature') ?? '';
  const timestamp = signatureTimestamp(header);
  if (timestamp === undefined) return { status: 400, reason: 'bad_signature' };
  if (Math.abs(now - timestamp) > WEBHOOK_TOLERANCE_MS) return { status: 400, reason: 'stale_timestamp' };
  try {
    await webhooks().verifyHeader({ payload: body, sigHeader: header, secret, tolerance: WEBHOOK_TOLERANCE_MS });
  } catch {
    return { status: 400, reason: 'bad_signature' };
  }

  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { status: 400, reason: 'malformed' };
  }
  const event = WorkosEventSchema.safeParse(json);
  if (!event.success) return { status: 400, reason: 'malformed' };
  const { id: eventId, event: eventType } = event.data;
  const plan = denialsFor(event.data);
  if (plan.kind === 'ignored') return { status: 200, reason: 'ignored', eventId, eventType };
  if (plan.kind === 'malformed') return { status: 400, reason: 'malformed', eventId, eventType };

  const seenKey = `mcp:webhook:${eventId}`;
  let first: boolean;
  try {
    first = await store.claim(seenKey, SEEN_TTL_SECONDS);
  } catch {
    return { status: 503, reason: 'store_unavailable', eventId, eventType };
  }
  // A redelivery or a replay inside the window: answered 200 so WorkOS stops, and nothing written.
  if (!first) return { status: 200, reason: 'duplicate', eventId, eventType };
  const value = String(revokedAt(event.data.created_at, now));
  try {
    await store.write(
      plan.denials.map(({ kind, id }) => ({ key: denyKey(kind, id), value, ttlSeconds: options.denyTtlSeconds })),
    );
  } catch {
    // Not applied: forget the id so WorkOS's retry applies it.
    await store.release(seenKey).catch(() => undefined);
    return { status: 503, reason: 'store_unavailable', eventId, eventType };
  }
  return { status: 200, reason: 'applied', eventId, eventType, denied: plan.denials.map((d) => `${d.kind}:${d.id}`) };
}
