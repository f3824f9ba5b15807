import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { createRequestStateCodec, type JSONValue, type ServerContext } from '@modelcontextprotocol/server';
import { audit } from '../audit/log';
import { callerFields } from '../audit/record';
import { ConfigError, type Config } from '../config';
import type { Registry } from '../registry';
import { describeAccess } from '../policy';
import { auditKey, RECORD_TYPES } from './call-records';
import { isCanonicalBase64url } from '../util/base64url';
import { type BoundCall, callerOf } from './caller';
import type { GatedCall } from './gate';

/**
 * Multi round-trip request state (2026-07-28), sealed with the SDK's HMAC codec. A state is bound
 * to the issuer and this deployment's resource (another deployment sharing the key refuses it), the
 * subject, client id and organization of the token that asked (the same person in another
 * organization is refused), the method and a digest of the call's parameters, and expires quickly;
 * the SDK verifies every echoed state before a handler runs and answers a failure with its fixed
 * -32602 "Invalid or expired requestState". Each refusal is
 * audited here, with the identity of the caller that presented it.
 */

export type RequestStateHooks = {
  mint(state: JSONValue, ctx: ServerContext): Promise<string>;
  verify(state: string, ctx: ServerContext): Promise<unknown>;
};

/** JSON with object keys sorted, so the same parameters always give the same digest. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function paramsDigest(params: Readonly<Record<string, unknown>>): string {
  return bytesToHex(sha256(new TextEncoder().encode(canonical(params))));
}

/** The calls a request state may bind to, by JSON-RPC id; an id used twice binds nothing. */
export function boundCalls(calls: readonly GatedCall[]): ReadonlyMap<string | number, BoundCall> {
  const byId = new Map<string | number, BoundCall | null>();
  for (const { site, primitive } of calls) {
    if (site.id === null) continue;
    const name = primitive.definition.name;
    byId.set(
      site.id,
      byId.has(site.id)
        ? null
        : {
            key: auditKey(site.method, name),
            digest: paramsDigest(site.boundParams),
            record: {
              type: RECORD_TYPES[site.method],
              method: site.method,
              [primitive.kind]: name,
              policy: describeAccess(primitive.definition.access),
            },
          },
    );
  }
  return new Map([...byId].filter((entry): entry is [string | number, BoundCall] => entry[1] !== null));
}

/** Fixed reasons only: the codec's own reason codes, never anything the client sent. */
const REASONS = new Set(['malformed', 'mac', 'expired', 'bind']);

/**
 * Whether a state has the one spelling the codec mints: `v1.<body>.<mac>`, both canonical base64url,
 * a 32-byte MAC. The codec decodes the MAC leniently, so a re-spelled state would verify as well, and
 * anything comparing states as strings (a client, a log) would take it for another one.
 */
function isMintedSpelling(state: string): boolean {
  const parts = state.split('.');
  return (
    parts.length === 3 &&
    parts[0] === 'v1' &&
    (parts[1]?.length ?? 0) > 0 &&
    isCanonicalBase64url(parts[1] ?? '') &&
    parts[2]?.length === 43 &&
    isCanonicalBase64url(parts[2])
  );
}

export type RequestStateOptions = { key: string | Uint8Array; ttlSeconds: number; issuer: string; resource: string };

export function createRequestStateHooks(options: RequestStateOptions) {
  const bind = (ctx: ServerContext): string => {
    const caller = callerOf(ctx.http?.authInfo);
    const call = caller.calls?.get(ctx.mcpReq.id);
    const { principal } = caller;
    // No known call (an id used twice in a batch): a value no state was ever minted for.
    const digest = call?.digest ?? `unbound:${crypto.randomUUID()}`;
    const who =
      principal.kind === 'user'
        ? [principal.subject, principal.clientId ?? '', principal.organizationId ?? '']
        : ['anonymous', '', ''];
    return [options.issuer, options.resource, ...who, ctx.mcpReq.method, digest].join('\0');
  };
  const codec = createRequestStateCodec<JSONValue>({ key: options.key, ttlSeconds: options.ttlSeconds, bind });
  const hooks: RequestStateHooks = {
    async mint(state, ctx) {
      if (callerOf(ctx.http?.authInfo).calls?.get(ctx.mcpReq.id) === undefined)
        throw new Error('request state asked for a call this request does not bind');
      return codec.mint(state, ctx);
    },
    async verify(state, ctx) {
      try {
        if (!isMintedSpelling(state)) throw new Error('malformed');
        return await codec.verify(state, ctx);
      } catch (error) {
        const caller = callerOf(ctx.http?.authInfo);
        const call = caller.calls?.get(ctx.mcpReq.id);
        // This record stands for the call: its owed "not run" record is covered by it.
        if (call && (caller.begin?.(call.key) ?? true)) {
          const reason = error instanceof Error && REASONS.has(error.message) ? error.message : 'invalid';
          const { type, method, ...target } = call.record;
          (caller.write ?? audit)({
            type,
            requestId: caller.requestId,
            method,
            ...target,
            decision: 'reject',
            reason: `request_state_${reason}`,
            status: 200,
            outcome: 'not_run',
            ...callerFields(caller.principal),
          });
        }
        throw error;
      }
    },
  };
  return hooks;
}

let devKey: Uint8Array | undefined;

/**
 * The codec options for this configuration. Production with a primitive that asks and no key is a
 * configuration error; development without a key uses one random key per isolate (said once),
 * which serves every round only while one process does, as `npm run dev` does.
 */
export function requestStateFor(config: Config, registry: Registry): RequestStateOptions {
  const { key, ttlSeconds } = config.requestState;
  const bound = { issuer: config.issuer, resource: config.resourceUrl };
  if (key !== undefined) return { key, ttlSeconds, ...bound };
  if (config.production && registry.interactive) {
    throw new ConfigError(
      'MCP_REQUEST_STATE_KEY',
      'must be set in production when a tool, resource or prompt asks for input (at least 32 random bytes, e.g. openssl rand -base64 48)',
    );
  }
  if (!devKey) {
    devKey = crypto.getRandomValues(new Uint8Array(32));
    if (registry.interactive)
      console.warn('[config] MCP_REQUEST_STATE_KEY unset: request states use a per-process key');
  }
  // Without a key nothing a client holds can verify after a restart: fail closed, never pass through.
  return { key: devKey, ttlSeconds, ...bound };
}
