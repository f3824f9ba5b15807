import { finishAfter, httpAuditSinkFor, openTrail } from '../audit/log';
import { callerFields } from '../audit/record';
import type { HttpAuditSink } from '../audit/http-sink';
import type { OwedRecord, RequestTrail } from '../audit/trail';
import { authenticate } from '../auth/authenticate';
import type { DirectoryLookup } from '../directory/workos';
import { directoryLookupFor, membershipNeeded, permissionsNeeded, resolveMembership } from './membership';
import { challengeAnswer, challengeStatus, wwwAuthenticate, type Challenge } from '../auth/challenge';
import type { Principal } from '../auth/principal';
import type { TokenVerifier } from '../auth/verify';
import { batchRefusal } from '../wire/batch';
import { ConfigError, MAX_BODY_BYTES, getConfig, perConfig, type Config } from '../config';
import { boundCalls, createRequestStateHooks, requestStateFor, type RequestStateHooks } from './request-state';
import { authInfoFor, type CallerContext } from './caller';
import { handlerFor, type ServeSet } from './dispatch';
import { forwardedRequest } from './forwarded-request';
import { gate, isVisible, type GatedCall } from './gate';
import { jsonRpcErrorResponse, misconfigured, readBodyWithLimit, RPC_ERRORS, type JsonRpcId } from '../http/answers';
import { evaluate, type Access, type MembershipAnswer } from '../policy';
import type { Registry } from '../registry';
import { parseEnvelope, type Envelope } from '../wire/envelope';
import { auditKey, notRunRecord } from './call-records';
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
  directory?: (config: Config) => DirectoryLookup | undefined;
  /** The platform's waitUntil (Next's `after`): flushes the HTTP audit sink after the response. */
  waitUntil?: (task: Promise<unknown>) => void;
  /** The HTTP audit sink; defaults to the one AUDIT_SINK_URL configures. Tests inject a small or failing one. */
  auditSink?: (config: Config) => HttpAuditSink | undefined;
};

const JWKS_RETRY_AFTER_SECONDS = '10';
const BACKPRESSURE_RETRY_AFTER_SECONDS = '5';
/** The status recorded (and answered, to nobody) when the client went away before its body arrived. */
const CLIENT_CLOSED_REQUEST = 499;
const decoder = new TextDecoder();

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

export function createMcpEndpoint(options: McpEndpointOptions): (request: Request) => Promise<Response> {
  const loadConfig = options.config ?? getConfig;
  const requestStateHooks = perConfig(
    (config) => [config.requestState, config.issuer, config.production],
    (config) => createRequestStateHooks(requestStateFor(config, options.registry)),
  );

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
    let requestState: RequestStateHooks;
    try {
      requestState = requestStateHooks(config);
    } catch (error) {
      console.error(
        error instanceof ConfigError ? `[config] ${error.message}` : '[config] request state failed to load',
      );
      return misconfigured();
    }
    const trail = openTrail(config, (options.auditSink ?? httpAuditSinkFor)(config));
    let response: Response;
    try {
      response = await answer(request, config, trail, requestState);
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

  async function answer(
    request: Request,
    config: Config,
    trail: RequestTrail,
    requestState: RequestStateHooks,
  ): Promise<Response> {
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
        ...callerFields(principal),
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
    const envelope = parseEnvelope(message, request.headers.get('mcp-protocol-version'));
    const { id, method } = envelope;

    // A batch the revision does not allow is never looked into: one record, whatever its length.
    const refusedBatch = batchRefusal(envelope);
    const sites = refusedBatch ? [] : envelope.calls;
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
    const wire = checkWireHeaders(request.headers, envelope);
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
    const unserved = unservedMethod(envelope, wire.era);
    if (unserved) {
      reject(unserved.status, unserved.reason, principal, method);
      return jsonRpcErrorResponse(
        unserved.status,
        { code: unserved.code, message: unserved.message, reason: unserved.reason },
        { id },
      );
    }

    const directoryLookup = (options.directory ?? directoryLookupFor)(config);
    const membership = membershipNeeded(envelope, options.registry, principal)
      ? // The role catalog only when a permission policy is reached: its outage must not stop role-only tools.
        await resolveMembership(principal, directoryLookup, {
          permissions: permissionsNeeded(envelope, options.registry, principal),
        })
      : undefined;

    const gated = gate(refusedBatch ? { ...envelope, calls: [] } : envelope, options.registry, principal, membership);
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

    let calls: CallerContext['calls'];
    const caller: CallerContext = {
      principal,
      membership,
      requestId,
      lookup: directoryLookup,
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
    const response = withNoStore(
      await handlerFor(
        primitivesToServe(envelope, gated.calls, principal, membership),
        config.listTtlMs,
        options.registry.scopeHierarchy,
        requestState,
      )(forwarded),
    );
    // Owed until the response has been sent: the wrapper records every call it runs while it streams.
    trail.owe(
      sites.map((site): OwedRecord => {
        const call = byCall.get(site);
        return {
          tool: call && auditKey(site.method, call.primitive.definition.name),
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

  function paramRefusal(headers: Headers, calls: readonly GatedCall[]): Extract<ParamCheck, { ok: false }> | undefined {
    for (const { primitive, decision, site } of calls) {
      // Mcp-Param-* headers are declared on tool input schemas only (SEP-2243).
      if (primitive.kind !== 'tool' || !isVisible(decision)) continue;
      const check = checkParamHeaders(headers, primitive.definition.input, site.arguments);
      if (!check.ok) return check;
    }
    return undefined;
  }

  /**
   * One allowed call needs only its primitive; anything else (lists, batches, unknown or hidden
   * names) gets every primitive the caller may see, so hidden and unknown answer alike.
   */
  function primitivesToServe(
    envelope: Envelope,
    calls: GatedCall[],
    principal: Principal,
    membership: MembershipAnswer | undefined,
  ): ServeSet {
    const { registry } = options;
    const only = !envelope.batch && calls.length === 1 ? calls[0] : undefined;
    if (only?.decision.effect === 'allow') {
      // The one call's primitive, and only the capabilities it needs: nothing else is asked of this
      // server in this request, and registering the rest per request was a measurable cost.
      const { primitive } = only;
      return {
        tools: primitive.kind === 'tool' ? [primitive.definition] : [],
        resources: primitive.kind === 'resource' ? [primitive.definition] : [],
        prompts: primitive.kind === 'prompt' ? [primitive.definition] : [],
        offers: {
          resources: primitive.kind === 'resource',
          prompts: primitive.kind === 'prompt',
          completions: primitive.kind !== 'tool' && primitive.definition.complete !== undefined,
        },
      };
    }
    const offers = {
      resources: registry.resources.length > 0,
      prompts: registry.prompts.length > 0,
      completions: registry.resources.some((r) => r.complete) || registry.prompts.some((p) => p.complete),
    };
    const visible = <T extends { access: Access }>(definitions: readonly T[]) =>
      definitions.filter((definition) =>
        isVisible(evaluate(definition.access, principal, membership, registry.scopeHierarchy)),
      );
    // A lone tools/list needs the caller's listing and nothing registered (lib/endpoint/dispatch.ts).
    if (!envelope.batch && envelope.method === 'tools/list')
      return { tools: visible(registry.tools), offers, listOnly: true };
    return {
      tools: visible(registry.tools),
      resources: visible(registry.resources),
      prompts: visible(registry.prompts),
      offers,
    };
  }
}
