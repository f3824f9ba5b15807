import { audit, flushAuditAfter, httpAuditSinkFor, identityFields, policyField } from './audit';
import { authenticate } from './auth/authenticate';
import type { IdentityLookup } from './auth/identity';
import { identityLookupFor, membershipNeeded, permissionsNeeded, resolveMembership } from './auth/membership';
import { challengeStatus, wwwAuthenticate, type Challenge } from './auth/challenge';
import type { Principal } from './auth/principal';
import type { TokenVerifier } from './auth/verify';
import { ConfigError, MAX_BODY_BYTES, getConfig, type Config } from './config';
import { authInfoFor, handlerFor, type RequestIdentity } from './dispatch';
import { forwardedRequest } from './forwarded-request';
import { gate, type ToolCall } from './gate';
import { jsonRpcErrorResponse, readBodyWithLimit, RPC_ERRORS, type JsonRpcId } from './http';
import { evaluate, type MembershipAnswer } from './policy';
import type { Registry, ToolDefinition } from './registry';
import { checkWireHeaders } from './wire/headers';
import { unservedMethod } from './wire/unserved';
import { withNoStore } from './wire/cache';

/**
 * POST /mcp, in order: read the body (413) -> authenticate (400/401/503) -> gate every tools/call
 * (401/403) -> dispatch through mcp-handler with a server built for this caller -> audit.
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
};

const JWKS_RETRY_AFTER_SECONDS = '10';
const decoder = new TextDecoder();

function singleRequestId(message: unknown): JsonRpcId {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return null;
  const id = (message as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

function methodOf(message: unknown): string | undefined {
  if (Array.isArray(message)) return 'batch';
  const method = typeof message === 'object' && message !== null ? (message as { method?: unknown }).method : undefined;
  return typeof method === 'string' ? method.slice(0, 64) : undefined;
}

function challengeResponse(challenge: Challenge, config: Config, id: JsonRpcId): Response {
  const status = challengeStatus(challenge);
  const message =
    challenge.kind === 'invalid_request'
      ? challenge.description
      : challenge.kind === 'invalid_token'
        ? challenge.description
        : challenge.kind === 'insufficient_scope'
          ? 'Insufficient scope: re-authorize with the scopes in WWW-Authenticate'
          : 'Authentication required: sign in through the authorization server in WWW-Authenticate';
  return jsonRpcErrorResponse(
    status,
    { code: status === 403 ? RPC_ERRORS.forbidden : status === 400 ? RPC_ERRORS.invalidRequest : RPC_ERRORS.unauthorized, message, reason: challenge.kind },
    { id, headers: { 'www-authenticate': wwwAuthenticate(challenge, config.resourceMetadataUrl) } },
  );
}

function unavailableResponse(id: JsonRpcId): Response {
  return jsonRpcErrorResponse(
    503,
    { code: RPC_ERRORS.unavailable, message: 'Identity verification is temporarily unavailable; nothing was executed', reason: 'unavailable' },
    { id, headers: { 'retry-after': JWKS_RETRY_AFTER_SECONDS } },
  );
}

/**
 * Records the gate's decisions. Allowed calls are left to the tool wrapper, which records them with
 * their outcome, unless the wrapper will never run: the request was refused as a whole, or the
 * arguments fail the tool's input schema (the SDK then answers without calling the wrapper).
 */
function auditGateDecisions(calls: ToolCall[], principal: Principal, requestId: string, status: number, durationMs: number): void {
  for (const call of calls) {
    const { decision } = call;
    const reachesWrapper = decision.effect === 'allow' && status === 200 && call.tool.input.safeParse(call.arguments ?? {}).success;
    if (reachesWrapper) continue;
    audit({
      type: 'tool_call',
      requestId,
      method: 'tools/call',
      tool: call.tool.name,
      policy: policyField(call.tool.access),
      decision: decision.effect === 'challenge' ? 'challenge' : decision.effect === 'allow' ? 'allow' : 'deny',
      reason:
        decision.effect === 'challenge'
          ? decision.challenge.kind
          : decision.effect === 'deny'
            ? decision.reason
            : decision.effect === 'unavailable'
              ? 'identity_unavailable'
              : status >= 400
                ? 'request_refused'
                : status === 200
                  ? 'invalid_arguments'
                  : 'not_dispatched', // 202: a tools/call sent as a notification is never run
      status,
      outcome: 'not_run',
      durationMs,
      ...identityFields(principal),
    });
  }
}

export function createMcpEndpoint(options: McpEndpointOptions): (request: Request) => Promise<Response> {
  const loadConfig = options.config ?? getConfig;

  return async function handleMcp(request: Request): Promise<Response> {
    let config: Config;
    try {
      config = loadConfig();
    } catch (error) {
      console.error(error instanceof ConfigError ? `[config] ${error.message}` : '[config] configuration failed to load');
      return jsonRpcErrorResponse(500, { code: RPC_ERRORS.internal, message: 'Server misconfigured' });
    }
    httpAuditSinkFor(config); // created before the first record of this request is written
    return flushAuditAfter(await answer(request, config), config, options.waitUntil);
  };

  async function answer(request: Request, config: Config): Promise<Response> {
    const requestId = crypto.randomUUID();
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const reject = (status: number, reason: string, principal?: Principal, method?: string) =>
      audit({ type: 'request_rejected', requestId, method, decision: 'reject', reason, status, durationMs: elapsed(), ...identityFields(principal) });

    const bytes = await readBodyWithLimit(request, MAX_BODY_BYTES);
    if (bytes === null) {
      reject(413, 'body_too_large');
      return jsonRpcErrorResponse(413, { code: RPC_ERRORS.tooLarge, message: `Request body exceeds ${MAX_BODY_BYTES} bytes` });
    }
    let message: unknown;
    try {
      message = JSON.parse(decoder.decode(bytes));
    } catch {
      message = undefined; // the SDK answers the parse error after authentication
    }
    const id = singleRequestId(message);
    const method = methodOf(message);

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

    // An unapproved OAuth client is refused outright: re-authorizing cannot fix it, so no challenge.
    if (config.allowedClientIds && principal.kind === 'user' && !config.allowedClientIds.includes(principal.clientId ?? '')) {
      reject(403, 'client_not_allowed', principal, method);
      return jsonRpcErrorResponse(
        403,
        { code: RPC_ERRORS.forbidden, message: 'This OAuth client is not approved for this server', reason: 'client_not_allowed' },
        { id },
      );
    }

    // After authentication, so a bad token is still a 401; before dispatch, so no stream opens.
    const unserved = unservedMethod(message, wire.era);
    if (unserved) {
      reject(unserved.status, unserved.reason, principal, method);
      return jsonRpcErrorResponse(unserved.status, { code: unserved.code, message: unserved.message, reason: unserved.reason }, { id });
    }

    const identityLookup = (options.identity ?? identityLookupFor)(config);
    const membership = membershipNeeded(message, options.registry, principal)
      ? // The role catalog only when a permission policy is reached: its outage must not stop role-only tools.
        await resolveMembership(principal, identityLookup, { permissions: permissionsNeeded(message, options.registry, principal) })
      : undefined;

    const gated = gate(message, options.registry, principal, membership);
    if (gated.kind === 'unavailable') {
      auditGateDecisions(gated.calls, principal, requestId, 503, elapsed());
      return unavailableResponse(id);
    }
    if (gated.kind === 'challenge') {
      const status = challengeStatus(gated.challenge);
      auditGateDecisions(gated.calls, principal, requestId, status, elapsed());
      return challengeResponse(gated.challenge, config, id);
    }

    const identity: RequestIdentity = { principal, membership, requestId, lookup: identityLookup };
    // The SDK reads exactly the bytes the gate parsed, and never sees the token.
    const forwarded = forwardedRequest(request, bytes, authInfoFor(identity, config.resourceUrl));
    const response = withNoStore(await handlerFor(toolsToServe(message, gated.calls, principal, membership), config.listTtlMs)(forwarded));
    // Written once the status is known: the SDK may still refuse the request as a whole.
    auditGateDecisions(gated.calls, principal, requestId, response.status, elapsed());
    // The SDK's own refusals (protocol version, parse errors, 406/415) are rejected requests too;
    // when the message held tool calls, their records above already carry the refusal.
    if (response.status >= 400 && gated.calls.length === 0) reject(response.status, 'protocol_error', principal, method);
    return response;
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
      const effect = evaluate(tool.access, principal, membership).effect;
      return effect === 'allow' || effect === 'challenge';
    });
  }
}
