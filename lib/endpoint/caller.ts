import type { AuthInfo } from '@modelcontextprotocol/server';
import type { AuditRecord } from '../audit/record';
import type { DirectoryLookup } from '../directory/workos';
import { ANONYMOUS, type Principal } from '../auth/principal';
import type { MembershipAnswer } from '../policy';

/**
 * The caller as the endpoint hands it to the SDK for one request (in `authInfo.extra`), and the
 * only way back: the wrapper and the request-state hooks trust what this module minted, nothing else.
 */

/** What one call of this request is bound to (a request state) and recorded as, by JSON-RPC id. */
export type BoundCall = {
  /** The trail key the wrapper begins with (lib/endpoint/call-records.ts). */
  key: string;
  /** SHA-256 of the call's parameters (without `_meta`, `inputResponses`, `requestState`). */
  digest: string;
  /** What its audit record names: type, method, the primitive and its policy. */
  record: Pick<AuditRecord, 'type' | 'method' | 'tool' | 'resource' | 'prompt' | 'policy'>;
};

export type CallerContext = {
  principal: Principal;
  membership?: MembershipAnswer;
  requestId: string;
  /** Lazy WorkOS lookups for handlers that need more than the token says (profile, members). */
  lookup?: DirectoryLookup;
  /** Asked before a handler runs: false once the request's audit is settled (lib/audit/trail.ts). */
  begin?: (key: string) => boolean;
  /** The calls of this request by JSON-RPC id; an id used twice in a batch is absent (nothing binds to it). */
  calls?: ReadonlyMap<string | number, BoundCall>;
  /** Writes a record of this request through its trail; without one, the stdout line alone. */
  write?: (record: Omit<AuditRecord, 'time'>) => void;
};

/**
 * What `authInfo.extra.caller` holds: an opaque box only this module can open. The wrapper trusts
 * only these: a caller that merely has the right shape (from anywhere else) is treated as
 * anonymous. A private field is the brand, so no object built elsewhere can carry it; a WeakSet of
 * minted callers did the same at a per-request cost the profile showed.
 */
class MintedCaller {
  readonly #caller: CallerContext;
  constructor(caller: CallerContext) {
    this.#caller = Object.freeze(caller);
  }
  static open(value: unknown): CallerContext | undefined {
    return typeof value === 'object' && value !== null && #caller in value
      ? (value as MintedCaller).#caller
      : undefined;
  }
}

/** AuthInfo for the SDK: the caller only. `token` stays empty so no handler or log can echo it. */
export function authInfoFor(caller: CallerContext, resourceUrl: string): AuthInfo | undefined {
  const { principal } = caller;
  return {
    token: '',
    clientId: principal.kind === 'user' ? (principal.clientId ?? '') : '',
    scopes: principal.kind === 'user' ? principal.scopes : [],
    ...(principal.kind === 'user' ? { expiresAt: principal.expiresAt } : {}),
    resource: new URL(resourceUrl),
    extra: { caller: new MintedCaller(caller) },
  };
}

const UNKNOWN_CALLER: CallerContext = Object.freeze({ principal: ANONYMOUS, requestId: 'unknown' });

export function callerOf(authInfo: AuthInfo | undefined): CallerContext {
  // Anything this module did not mint is anonymous: private primitives then refuse (fail closed).
  return MintedCaller.open(authInfo?.extra?.caller) ?? UNKNOWN_CALLER;
}
