import { finishAfter, httpAuditSinkFor, openTrail } from '../audit/log';
import { identityFields, type AuditRecord } from '../audit/record';
import type { HttpAuditSink } from '../audit/http-sink';
import type { OwedRecord, RequestTrail } from '../audit/trail';
import { authenticate } from '../auth/authenticate';
import type { IdentityLookup } from '../auth/identity';
import { identityLookupFor, membershipNeeded, permissionsNeeded, resolveMembership } from './membership';
import { challengeAnswer, challengeStatus, wwwAuthenticate, type Challenge } from '../auth/challenge';
import type { Principal } from '../auth/principal';
import type { TokenVerifier } from '../auth/verify';
import { batchRefusal } from '../wire/batch';
import { ConfigError, MAX_BODY_BYTES, getConfig, type Config } from '../config';
import { authInfoFor, handlerFor, type RequestIdentity } from './dispatch';
import { forwardedRequest } from './forwarded-request';
import { callSitesIn, gate, type CallSite, type ToolCall } from './gate';
import { jsonRpcErrorResponse, misconfigured, readBodyWithLimit, RPC_ERRORS, type JsonRpcId } from '../http/answers';
import { describeAccess, evaluate, type MembershipAnswer } from '../policy';
import type { Registry, ToolDefinition } from '../registry';
import { checkWireHeaders } from '../wire/headers';
import { checkParamHeaders, type ParamCheck } from '../wire/params';
import { unservedMethod } from '../wire/unserved';
import { withNoStore } from '../wire/cache';

/**
 * POST /mcp, in order: read the body (413) -> reserve room for its audit records (503 under
 * backpressure) -> authenticate (400/401/503) -> refuse batches the revision does not allow (400) ->
 * gate every tools/call (401/403) -> dispatch through mcp-handler with a server built for this caller
 * -> settle the audit once the response has been sent.
 */

export type McpEndpointOptions = {
  registry: Registry;
  config?: () => Config;
  /** Tests inject a verifier with a counting or failing key set. */
  verifier?: (config: Config) => TokenVerifier | undefined;
  /** WorkOS membership lookups; defaults to one built from config.workos (none when unset). */
  identity?: (config: Config) => IdentityLookup | undefined;
  /** The platform's waitUntil (Next's `after`): flushes the HTTP audit sink after the response. */
  waitUntil?: (task: Promise<unknown>) => void;
  /** The HTTP audit sink; defaults to the one AUDIT_SINK_URL configures. Tests inject a small or failing one. */
  auditSink?: (config: Config) => HttpAuditSink | undefined;
};

const JWKS_RETRY_AFTER_SECONDS = '10';
const BACKPRESSURE_RETRY_AFTER_SECONDS = '5';
/** What the audit keeps of a method or tool name a caller chose. */
const MAX_NAME_CHARS = 64;
/** The status recorded (and answered, to nobody) when the client went away before its body arrived. */
const CLIENT_CLOSED_REQUEST = 499;
const decoder = new TextDecoder();

function singleRequestId(message: unknown): JsonRpcId {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return null;
  const id = (message as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

function methodOf(message: unknown): string | undefined {
  if (Array.isArray(message)) return 'batch';
  const method = typeof message === 'object' && message !== null ? (message as { method?: unknown }).method : undefined;
  return typeof method === 'string' ? method.slice(0, MAX_NAME_CHARS) : undefined;
}

function challengeResponse(challenge: Challenge, config: Config, id: JsonRpcId): Response {
  const { status, rpcCode, message } = challengeAnswer(challenge);
  return jsonRpcErrorResponse(
    status,
    { code: rpcCode, message, reason: challenge.kind },
    { id, headers: { 'www-authenticate': wwwAuthenticate(challenge, config.resourceMetadataUrl) } },
  );
}

function unavailableResponse(id: JsonRpcId): Response {
  return jsonRpcErrorResponse(
    503,
    {
      code: RPC_ERRORS.unavailable,
      message: 'Identity verification is temporarily unavailable; nothing was executed',
      reason: 'unavailable',
    },
    { id, headers: { 'retry-after': JWKS_RETRY_AFTER_SECONDS } },
  );
}

/**
 * Whether the SDK will refuse this call's arguments before our wrapper runs. It mirrors the SDK's
 * own input validation (the tool's zod schema over `arguments ?? {}`): if mcp-handler or the SDK
 * changes how it validates, this is the one place to follow.
 */
function sdkRejectsArguments(call: ToolCall): boolean {
  return !call.tool.input.safeParse(call.arguments ?? {}).success;
}

/** Why a call the gate allowed did not reach the wrapper, from what the SDK answered and the call's shape. */
function notRunReason(call: ToolCall, status: number, aborted: boolean): string {
  if (status >= 400) return 'request_refused';
  if (status === 202 || call.site.notification) return 'not_dispatched'; // the SDK never runs a tools/call notification
  if (!call.site.wellFormed) return 'invalid_params';
  if (sdkRejectsArguments(call)) return 'invalid_arguments';
  return aborted ? 'client_aborted' : 'sdk_refused';
}

/** The record of a call that was not run, for the gate's decision and the request's final status. */
function notRunRecord(
  site: CallSite,
  call: ToolCall | undefined,
  context: { requestId: string; status: number; aborted: boolean; durationMs: number; principal: Principal },
): Omit<AuditRecord, 'time'> {
  const { requestId, status, durationMs } = context;
  // Field order as every other record writes it: log consumers and greps rely on it.
  const record = (fields: Pick<AuditRecord, 'tool' | 'policy' | 'decision' | 'reason'>): Omit<AuditRecord, 'time'> => ({
    type: 'tool_call',
    requestId,
    method: 'tools/call',
    ...fields,
    status,
    outcome: 'not_run',
    durationMs,
    ...identityFields(context.principal),
  });
  if (!call) {
    // Unknown tool, or no tool name at all: the SDK answers it; the record says which.
    return record({
      tool: site.name?.slice(0, MAX_NAME_CHARS),
      decision: 'reject',
      reason: site.name === undefined ? 'invalid_params' : 'unknown_tool',
    });
  }
  const { decision } = call;
  const tool = { tool: call.tool.name, policy: describeAccess(call.tool.access) };
  switch (decision.effect) {
    case 'challenge':
      return record({ ...tool, decision: 'challenge', reason: decision.challenge.kind });
    case 'deny':
      return record({ ...tool, decision: 'deny', reason: decision.reason });
    case 'unavailable':
      return record({ ...tool, decision: 'deny', reason: 'identity_unavailable' });
    case 'allow':
      return record({ ...tool, decision: 'allow', reason: notRunReason(call, status, context.aborted) });
  }
}

export function createMcpEndpoint(options: McpEndpointOptions): (request: Request) => Promise<Response> {
  const loadConfig = options.config ?? getConfig;

  return async function handleMcp(request: Request): Promise<Response> {
    let config: Config;
    try {
      config = loadConfig();
    } catch (error) {
      console.error(
        error instanceof ConfigError ? `[config] ${error.message}` : '[config] configuration failed to load',
      );
      return misconfigured();
    }
    const trail = openTrail(config, (options.auditSink ?? httpAuditSinkFor)(config));
    let response: Response;
    try {
      response = await answer(request, config, trail);
    } catch {
      // Our own bug or a platform surprise: a fixed answer, one record, never a stack.
      trail.write({
        type: 'request_rejected',
        requestId: trail.requestId,
        decision: 'reject',
        reason: 'internal_error',
        status: 500,
      });
      response = jsonRpcErrorResponse(500, {
        code: RPC_ERRORS.internal,
        message: 'Internal error; nothing more is known to the caller',
      });
    }
    return finishAfter(response, trail, options.waitUntil);
  };

  async function answer(request: Request, config: Config, trail: RequestTrail): Promise<Response> {
    const { requestId } = trail;
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const reject = (status: number, reason: string, principal?: Principal, method?: string) =>
      trail.write({
        type: 'request_rejected',
        requestId,
        method,
        decision: 'reject',
        reason,
        status,
        durationMs: elapsed(),
        ...identityFields(principal),
      });

    let bytes: Uint8Array<ArrayBuffer> | null;
    try {
      bytes = await readBodyWithLimit(request, MAX_BODY_BYTES);
    } catch {
      // The client went away mid-body (or the platform's stream failed): nobody reads the answer.
      await trail.reserve(1);
      reject(CLIENT_CLOSED_REQUEST, 'client_aborted');
      return jsonRpcErrorResponse(CLIENT_CLOSED_REQUEST, {
        code: RPC_ERRORS.invalidRequest,
        message: 'The request body was not received',
      });
    }
    if (bytes === null) {
      await trail.reserve(1);
      reject(413, 'body_too_large');
      return jsonRpcErrorResponse(413, {
        code: RPC_ERRORS.tooLarge,
        message: `Request body exceeds ${MAX_BODY_BYTES} bytes`,
      });
    }
    let message: unknown;
    try {
      message = JSON.parse(decoder.decode(bytes));
    } catch {
      message = undefined; // the SDK answers the parse error after authentication
    }
    const id = singleRequestId(message);
    const method = methodOf(message);

    // A batch the revision does not allow is never looked into: one record, whatever its length.
    const refusedBatch = batchRefusal(message, request.headers.get('mcp-protocol-version'));
    const sites = refusedBatch ? [] : callSitesIn(message);
    if (!(await trail.reserve(Math.max(1, sites.length)))) {
      reject(503, 'audit_backpressure', undefined, method);
      return jsonRpcErrorResponse(
        503,
        {
          code: RPC_ERRORS.unavailable,
          message: 'The audit trail is saturated; nothing was executed',
          reason: 'audit_backpressure',
        },
        { id, headers: { 'retry-after': BACKPRESSURE_RETRY_AFTER_SECONDS } },
      );
    }

    // Spec order on 2026-07-28: mirrored headers agree with the body before any challenge or policy.
    const wire = checkWireHeaders(request.headers, message);
    if (!wire.ok) {
      reject(wire.status, wire.reason, undefined, method);
      return jsonRpcErrorResponse(wire.status, { code: wire.code, message: wire.message, reason: wire.reason }, { id });
    }

    const auth = await authenticate(request, config, options.verifier?.(config));
    if (!auth.ok) {
      if (auth.kind === 'unavailable') {
        reject(503, 'jwks_unavailable', undefined, method);
        return unavailableResponse(id);
      }
      reject(challengeStatus(auth.challenge), auth.challenge.kind, undefined, method);
      return challengeResponse(auth.challenge, config, id);
    }
    const { principal } = auth;

    // After authentication (an invalid token is always a 401), before the gate and the SDK.
    if (refusedBatch) {
      reject(400, refusedBatch.reason, principal, method);
      return jsonRpcErrorResponse(400, {
        code: RPC_ERRORS.invalidRequest,
        message: refusedBatch.message,
        reason: refusedBatch.reason,
      });
    }

    // An unapproved OAuth client is refused outright: re-authorizing cannot fix it, so no challenge.
    if (
      config.allowedClientIds &&
      principal.kind === 'user' &&
      !config.allowedClientIds.includes(principal.clientId ?? '')
    ) {
      reject(403, 'client_not_allowed', principal, method);
      return jsonRpcErrorResponse(
        403,
        {
          code: RPC_ERRORS.forbidden,
          message: 'This OAuth client is not approved for this server',
          reason: 'client_not_allowed',
        },
        { id },
      );
    }

    // After authentication, so a bad token is still a 401; before dispatch, so no stream opens.
    const unserved = unservedMethod(message, wire.era);
    if (unserved) {
      reject(unserved.status, unserved.reason, principal, method);
      return jsonRpcErrorResponse(
        unserved.status,
        { code: unserved.code, message: unserved.message, reason: unserved.reason },
        { id },
      );
    }

    const identityLookup = (options.identity ?? identityLookupFor)(config);
    const membership = membershipNeeded(message, options.registry, principal)
      ? // The role catalog only when a permission policy is reached: its outage must not stop role-only tools.
        await resolveMembership(principal, identityLookup, {
          permissions: permissionsNeeded(message, options.registry, principal),
        })
      : undefined;

    const gated = gate(message, options.registry, principal, membership, sites);
    const byCall = new Map(gated.calls.map((call) => [call.site, call]));
    // Refused as a whole: every call gets its record now, none will reach the wrapper.
    const recordAll = (status: number) => {
      for (const site of sites)
        trail.write(
          notRunRecord(site, byCall.get(site), { requestId, status, aborted: false, durationMs: elapsed(), principal }),
        );
    };
    // Declared Mcp-Param-* headers (2026-07-28) against the arguments, before any challenge and before
    // anything runs; only for tools this caller may see, so a hidden tool still answers like an unknown one.
    const params = wire.era === 'modern' ? paramRefusal(request.headers, gated.calls) : undefined;
    if (params) {
      reject(params.status, params.reason, principal, method);
      return jsonRpcErrorResponse(
        params.status,
        { code: params.code, message: params.message, reason: params.reason },
        { id },
      );
    }
    if (gated.kind === 'unavailable') {
      recordAll(503);
      return unavailableResponse(id);
    }
    if (gated.kind === 'challenge') {
      recordAll(challengeStatus(gated.challenge));
      return challengeResponse(gated.challenge, config, id);
    }

    const identity: RequestIdentity = {
      principal,
      membership,
      requestId,
      lookup: identityLookup,
      begin: (tool) => trail.begin(tool),
      write: (record) => trail.write(record),
    };
    // The SDK reads exactly the bytes the gate parsed, never sees the token, and sees the client leave.
    const forwarded = forwardedRequest(request, bytes, authInfoFor(identity, config.resourceUrl));
    const response = withNoStore(
      await handlerFor(
        toolsToServe(message, gated.calls, principal, membership),
        config.listTtlMs,
        options.registry.scopeHierarchy,
      )(forwarded),
    );
    // Owed until the response has been sent: the wrapper records every call it runs while it streams.
    trail.owe(
      sites.map((site): OwedRecord => {
        const call = byCall.get(site);
        return {
          tool: call?.tool.name,
          expectedToRun: call?.decision.effect === 'allow' && site.wellFormed && !site.notification,
          record: () =>
            notRunRecord(site, call, {
              requestId,
              status: response.status,
              aborted: request.signal.aborted,
              durationMs: elapsed(),
              principal,
            }),
        };
      }),
    );
    // The SDK's own refusals (protocol version, parse errors, 406/415) of a request without tool calls.
    if (response.status >= 400 && sites.length === 0) reject(response.status, 'protocol_error', principal, method);
    return response;
  }

  function paramRefusal(headers: Headers, calls: readonly ToolCall[]): Extract<ParamCheck, { ok: false }> | undefined {
    for (const call of calls) {
      if (call.decision.effect !== 'allow' && call.decision.effect !== 'challenge') continue;
      const check = checkParamHeaders(headers, call.tool.input, call.arguments);
      if (!check.ok) return check;
    }
    return undefined;
  }

  /**
   * One allowed tools/call needs only that tool; anything else (tools/list, batches, unknown or
   * hidden names) gets every tool the caller may see, so hidden and unknown answer alike.
   */
  function toolsToServe(
    message: unknown,
    calls: ToolCall[],
    principal: Principal,
    membership: MembershipAnswer | undefined,
  ): readonly ToolDefinition[] {
    const only = !Array.isArray(message) && calls.length === 1 ? calls[0] : undefined;
    if (only?.decision.effect === 'allow') return [only.tool];
    return options.registry.tools.filter((tool) => {
      const effect = evaluate(tool.access, principal, membership, options.registry.scopeHierarchy).effect;
      return effect === 'allow' || effect === 'challenge';
    });
  }
}
