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

// The callers authInfoFor handed to the SDK. The wrapper trusts only these: a caller that
// merely has the right shape (from anywhere else) is treated as anonymous.
const minted = new WeakSet<CallerContext>();

// The resource as a URL, parsed once per configured value rather than on every request; the SDK
// only reads it (to compare and to derive the metadata URL).
let resource: { text: string; url: URL } | undefined;
function resourceUrlOf(text: string): URL {
  if (resource?.text !== text) resource = { text, url: new URL(text) };
  return resource.url;
}

/** AuthInfo for the SDK: the caller only. `token` stays empty so no handler or log can echo it. */
export function authInfoFor(caller: CallerContext, resourceUrl: string): AuthInfo | undefined {
  Object.freeze(caller);
  minted.add(caller);
  const { principal } = caller;
  return {
    token: '',
    clientId: principal.kind === 'user' ? (principal.clientId ?? '') : '',
    scopes: principal.kind === 'user' ? principal.scopes : [],
    ...(principal.kind === 'user' ? { expiresAt: principal.expiresAt } : {}),
    resource: resourceUrlOf(resourceUrl),
    extra: { caller },
  };
}

const UNKNOWN_CALLER: CallerContext = Object.freeze({ principal: ANONYMOUS, requestId: 'unknown' });

export function callerOf(authInfo: AuthInfo | undefined): CallerContext {
  const caller = authInfo?.extra?.caller;
  // Anything this module did not mint is anonymous: private primitives then refuse (fail closed).
  return typeof caller === 'object' && caller !== null && minted.has(caller as CallerContext)
    ? (caller as CallerContext)
    : UNKNOWN_CALLER;
}
