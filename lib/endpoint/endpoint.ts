import type { HttpAuditSink } from '../audit/http-sink';
import { finishAfter, httpAuditSinkFor, openTrail, stdoutAuditSink, type AuditSink } from '../audit/log';
import { recordRejection, refuse, type RefusedAt } from '../audit/refusals';
import type { OwedRecord, RequestTrail } from '../audit/trail';
import { approvalRefusal } from '../auth/approvals';
import { authenticate, identityUnavailable } from '../auth/authenticate';
import { challengeRefusal } from '../auth/challenge';
import type { Principal } from '../auth/principal';
import type { TokenVerifier } from '../auth/verify';
import { ConfigError, MAX_BODY_BYTES, getConfig, perConfig, type Config } from '../config';
import type { DirectoryLookup } from '../directory/workos';
import { misconfigured, readBodyWithLimit, RPC_ERRORS, type Refusal } from '../http/answers';
import type { MembershipAnswer } from '../policy';
import type { Registry } from '../registry';
import { traceRequest, type RequestTrace } from '../telemetry/request-trace';
import { batchRefusal } from '../wire/batch';
import { withNoStore } from '../wire/cache';
import { parseEnvelope, type Call, type Envelope } from '../wire/envelope';
import { checkWireHeaders } from '../wire/headers';
import { unservedMethod } from '../wire/unserved';
import { auditKey, notRunRecord } from './call-records';
import { authInfoFor, type CallerContext } from './caller';
import { handlerFor, serveSet } from './dispatch';
import { forwardedRequest } from './forwarded-request';
import { gate, paramRefusal, type GatedCall } from './gate';
import { callsStage, createGovernance, denyListStage, type Governance, type GovernanceOptions } from './governance';
import { directoryLookupFor, membershipNeeded, permissionsNeeded, resolveMembership } from './membership';
import { boundCalls, createRequestStateHooks, requestStateFor, type RequestStateHooks } from './request-state';

/**
 * POST /mcp, stage by stage. Each stage answers with a refusal, recorded once by `refuse`
 * (lib/audit/refusals.ts), or hands the next stage what it reads:
 *  0. front door, before this file (app/mcp/route.ts, lib/http/front-door.ts): Origin (403), methods, headers;
 *  1. configuration and request-state keys (500, nothing recorded), then the request's audit trail opens;
 *  2. body: read with a limit (499 when the client left, 413) and parsed once into the envelope;
 *  3. audit room: one record per call, one for a refused batch (503 under backpressure);
 *  4. wire: the 2026-07-28 mirrored headers agree with the body (400);
 *  5. authentication: the bearer token (400/401; 503 when the keys are out of reach);
 *  6. admission: a batch the revision does not allow (400), a client not approved, expired, of another kind or
 *     past its scope ceiling (403, lib/auth/approvals.ts), an unserved method (404/200),
 *     a token on the shared deny list (401; the list out of reach is decided per call in 7b);
 *  7. gate: membership when a policy needs it, every call evaluated, declared Mcp-Param-* headers (400),
 *     then the gate's refusal (503, or one challenge for every call: 401/403), one record per call;
 * 7b. governance: private calls while the deny list is out of reach (503), rate limits (429, or 503 per
 *     policy when the counter's store is slow), live tokens at the issuer (401 inactive, 503), one record per call;
 *  8. dispatch: mcp-handler with a server built for this caller, the SDK's own refusals recorded;
 *  9. audit: every call's record owed until the response has been sent, then settled (a throw: 500, one record).
 * Each message of the body has its span (lib/telemetry/), fed by the trail's records and refusals.
 */

export type McpEndpointOptions = {
  registry: Registry;
  config?: () => Config;
  /** Tests inject a verifier with a counting or failing key set. */
  verifier?: (config: Config) => TokenVerifier | undefined;
  /** WorkOS membership lookups; defaults to one built from config.workos (none when unset). */
  directory?: (config: Config) => DirectoryLookup | undefined;
  /** The platform's waitUntil (Next's `after`): flushes the HTTP audit sink after the response. */
  waitUntil?: (task: Promise<unknown>) => void;
  /** The HTTP audit sink; defaults to the one AUDIT_SINK_URL configures. Tests inject a small or failing one. */
  auditSink?: (config: Config) => HttpAuditSink | undefined;
  /** Where each audit record's line goes; defaults to stdout. Tests pass their own to read the records. */
  auditLine?: AuditSink;
  /** The shared store and environment behind the deny list, rate limits and introspection (lib/endpoint/governance.ts). */
  governance?: GovernanceOptions;
};

/** What every request reads, built once from the options. */
type Deps = {
  registry: Registry;
  config: () => Config;
  requestState: (config: Config) => RequestStateHooks;
  verifier: (config: Config) => TokenVerifier | undefined;
  directory: (config: Config) => DirectoryLookup | undefined;
  httpSink: (config: Config) => HttpAuditSink | undefined;
  auditLine?: AuditSink;
  waitUntil?: (task: Promise<unknown>) => void;
  governance: (config: Config) => Governance;
};

/** One request's share of them: its configuration and trail, and when it started. */
type Scope = {
  request: Request;
  config: Config;
  requestState: RequestStateHooks;
  trail: RequestTrail;
  trace: RequestTrace;
  started: number;
};

// The endpoint's own refusals; a body never read gets no `data.reason`. 499: the client went away
// before its body arrived, so the answer is recorded and sent to nobody.
const CLIENT_GONE: Refusal = {
  status: 499,
  code: RPC_ERRORS.invalidRequest,
  message: 'The request body was not received',
  reason: 'client_aborted',
  publicReason: null,
};
const BODY_TOO_LARGE: Refusal = {
  status: 413,
  code: RPC_ERRORS.tooLarge,
  message: `Request body exceeds ${MAX_BODY_BYTES} bytes`,
  reason: 'body_too_large',
  publicReason: null,
};
const AUDIT_BACKPRESSURE: Refusal = {
  status: 503,
  code: RPC_ERRORS.unavailable,
  message: 'The audit trail is saturated; nothing was executed',
  reason: 'audit_backpressure',
  headers: { 'retry-after': '5' },
};
const INTERNAL_ERROR: Refusal = {
  status: 500,
  code: RPC_ERRORS.internal,
  message: 'Internal error; nothing more is known to the caller',
  reason: 'internal_error',
  publicReason: null,
};
const decoder = new TextDecoder();

export function createMcpEndpoint(options: McpEndpointOptions): (request: Request) => Promise<Response> {
  const deps: Deps = {
    registry: options.registry,
    config: options.config ?? getConfig,
    requestState: perConfig(
      (config) => [config.requestState, config.issuer, config.resourceUrl, config.production],
      (config) => createRequestStateHooks(requestStateFor(config, options.registry)),
    ),
    verifier: options.verifier ?? (() => undefined),
    directory: options.directory ?? directoryLookupFor,
    httpSink: options.auditSink ?? httpAuditSinkFor,
    auditLine: options.auditLine,
    waitUntil: options.waitUntil,
    // Rebuilt when the configuration changes (tests reload it): the store and caches go with it.
    governance: perConfig(
      (config) => [
        config.issuer,
        config.maxTokenLifetimeSeconds,
        config.revocationFreshnessMs,
        config.workos?.apiKey,
        config.resourceUrl,
      ],
      (config) => createGovernance(config, options.governance),
    ),
  };
  return async function handleMcp(request: Request): Promise<Response> {
    const loaded = load(deps);
    if (!loaded) return misconfigured();
    const { config } = loaded;
    const trace = traceRequest(config.traceSubjectKey);
    const trail = openTrail(config, deps.httpSink(config), trace.observe(deps.auditLine ?? stdoutAuditSink), trace);
    let response: Response;
    try {
      response = await answer(deps, { request, ...loaded, trail, trace, started: performance.now() });
    } catch {
      // Our own bug or a platform surprise: a fixed answer, one record, never a stack.
      response = refuse(trail, INTERNAL_ERROR);
    }
    return finishAfter(response, trail, deps.waitUntil);
  };
}

/** The configuration and its request-state hooks; undefined (a 500, named in the server log) when either fails. */
function load(deps: Deps): { config: Config; requestState: RequestStateHooks } | undefined {
  let loading = 'configuration';
  try {
    const config = deps.config();
    loading = 'request state';
    return { config, requestState: deps.requestState(config) };
  } catch (error) {
    console.error(error instanceof ConfigError ? `[config] ${error.message}` : `[config] ${loading} failed to load`);
    return undefined;
  }
}

/** One request through the stages, in order: the first refusal is its answer. */
async function answer(deps: Deps, scope: Scope): Promise<Response> {
  const { request, config, trail, trace } = scope;
  const durationMs = () => Math.round(performance.now() - scope.started);

  const body = await readBody(request);
  if (body.refusal) {
    await trail.reserve(1);
    return refuse(trail, body.refusal, { durationMs: durationMs() });
  }
  const { envelope } = body;
  const { id, method } = envelope;
  trace.messages(envelope.message, envelope.revision, trail.requestId);
  const at = (principal?: Principal): RefusedAt => ({ id, method, principal, durationMs: durationMs() });

  // A batch the revision does not allow is never looked into: one record, whatever its length.
  const batch = batchRefusal(envelope);
  if (!(await trail.reserve(batch ? 1 : Math.max(1, envelope.calls.length))))
    return refuse(trail, AUDIT_BACKPRESSURE, at());

  // Spec order on 2026-07-28: mirrored headers agree with the body before any challenge or policy.
  const wire = checkWireHeaders(request.headers, envelope);
  if (!wire.ok) return refuse(trail, wire, at());

  const auth = await authenticate(request, config, deps.verifier(config));
  if (!auth.ok) return refuse(trail, auth.refusal, at());
  const { principal } = auth;
  trace.caller(principal);

  // After authentication, so a bad token is still a 401; before the gate, so nothing runs or streams.
  const refused =
    batch ??
    approvalRefusal(principal, deps.registry.approvals, config, Date.now()) ??
    unservedMethod(envelope, wire.era);
  if (refused) return refuse(trail, refused, at(principal));
  // Every authenticated request consults the deny list, public calls included: a revoked token is refused everywhere.
  const governance = deps.governance(config);
  const denyList = await denyListStage(governance, principal, config);
  if (denyList.refusal) return refuse(trail, denyList.refusal, at(principal));

  const gated = await gateStage(deps, scope, envelope, wire.era, principal);
  const byCall = new Map<Call, GatedCall>(gated.calls?.map((call) => [call.site, call]));
  // A call's record when no wrapper ran it: the gate's decision and what became of the request.
  const notRun = (site: Call, status: number, aborted: boolean) =>
    notRunRecord(site, byCall.get(site), {
      requestId: trail.requestId,
      status,
      aborted,
      durationMs: durationMs(),
      principal,
    });
  if (gated.refusal) {
    const { status } = gated.refusal;
    // Refused as a whole: every call gets its record now, none will reach the wrapper.
    const records = gated.calls && envelope.calls.map((site) => notRun(site, status, false));
    return refuse(trail, gated.refusal, at(principal), records);
  }
  const governed = await callsStage({
    governance,
    config,
    request,
    principal,
    calls: gated.calls,
    denyListUnavailable: denyList.unavailable,
    waitUntil: deps.waitUntil,
  });
  if (governed) {
    const records = envelope.calls.map((site) => {
      const record = notRun(site, governed.status, false);
      return byCall.has(site) ? { ...record, decision: 'reject' as const, reason: governed.reason } : record;
    });
    return refuse(trail, governed, at(principal), records);
  }

  const response = await dispatch(deps, scope, body.bytes, envelope, principal, gated);
  // Owed until the response has been sent: the wrapper records every call it runs while it streams.
  trail.owe(
    envelope.calls.map((site): OwedRecord => {
      const call = byCall.get(site);
      return {
        tool: call && auditKey(site.method, call.primitive.definition.name),
        expectedToRun: call?.decision.effect === 'allow' && site.wellFormed && !site.notification,
        record: () => notRun(site, response.status, request.signal.aborted),
      };
    }),
  );
  // The SDK's own refusals (protocol version, parse errors, 406/415) of a request without calls.
  if (response.status >= 400 && envelope.calls.length === 0)
    recordRejection(trail, { status: response.status, reason: 'protocol_error' }, at(principal));
  return response;
}

type Body = { refusal?: undefined; bytes: Uint8Array<ArrayBuffer>; envelope: Envelope };

/** The body, read once within the limit and parsed into the envelope every later stage reads. */
async function readBody(request: Request): Promise<{ refusal: Refusal } | Body> {
  let bytes: Uint8Array<ArrayBuffer> | null;
  try {
    bytes = await readBodyWithLimit(request, MAX_BODY_BYTES);
  } catch {
    // The client went away mid-body (or the platform's stream failed): nobody reads the answer.
    return { refusal: CLIENT_GONE };
  }
  if (bytes === null) return { refusal: BODY_TOO_LARGE };
  let message: unknown;
  try {
    message = JSON.parse(decoder.decode(bytes));
  } catch {
    message = undefined; // the SDK answers the parse error after authentication
  }
  return { bytes, envelope: parseEnvelope(message, request.headers.get('mcp-protocol-version')) };
}

type Gated = { calls: GatedCall[]; membership: MembershipAnswer | undefined; directory: DirectoryLookup | undefined };

/**
 * The gate: membership looked up only when a policy reached needs it, every call evaluated, then
 * the declared Mcp-Param-* headers. A refusal that carries `calls` is recorded call by call.
 */
async function gateStage(
  deps: Deps,
  { request, config }: Scope,
  envelope: Envelope,
  era: 'modern' | 'legacy' | 'other',
  principal: Principal,
): Promise<{ refusal: Refusal; calls?: GatedCall[] } | ({ refusal?: undefined } & Gated)> {
  const { registry } = deps;
  const directory = deps.directory(config);
  const membership = membershipNeeded(envelope, registry, principal)
    ? // The role catalog only when a permission policy is reached: its outage must not stop role-only tools.
      await resolveMembership(principal, directory, { permissions: permissionsNeeded(envelope, registry, principal) })
    : undefined;
  const gated = gate(envelope, registry, principal, membership);
  // Before any challenge and before anything runs.
  const params = era === 'modern' ? paramRefusal(request.headers, gated.calls) : undefined;
  if (params) return { refusal: params };
  if (gated.kind === 'unavailable') return { refusal: identityUnavailable('identity_unavailable'), calls: gated.calls };
  if (gated.kind === 'challenge')
    return { refusal: challengeRefusal(gated.challenge, config.resourceMetadataUrl), calls: gated.calls };
  return { calls: gated.calls, membership, directory };
}

/** Dispatch through mcp-handler, with a server for this caller's serve set and the caller minted for it. */
async function dispatch(
  deps: Deps,
  { request, config, trail, trace, requestState }: Scope,
  bytes: Uint8Array<ArrayBuffer>,
  envelope: Envelope,
  principal: Principal,
  gated: Gated,
): Promise<Response> {
  let calls: CallerContext['calls'];
  const caller: CallerContext = {
    principal,
    membership: gated.membership,
    requestId: trail.requestId,
    lookup: gated.directory,
    begin: (key) => trail.begin(key),
    write: (record) => trail.write(record),
    // Built on first read: only a request that echoes or mints a request state asks for it.
    get calls() {
      calls ??= boundCalls(gated.calls);
      return calls;
    },
  };
  // The SDK reads exactly the bytes the gate parsed, never sees the token, and sees the client leave.
  const forwarded = forwardedRequest(request, bytes, authInfoFor(caller, config.resourceUrl));
  const handler = handlerFor(serveSet(deps.registry, envelope, gated.calls, principal, gated.membership), {
    listTtlMs: config.listTtlMs,
    hierarchy: deps.registry.scopeHierarchy,
    requestState,
    clientCredentials: deps.registry.acceptsMachines,
  });
  return withNoStore(await trace.run(() => handler(forwarded)));
}
