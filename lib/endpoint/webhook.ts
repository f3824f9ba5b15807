import { finishAfter, openTrail, type AuditSink } from '../audit/log';
import { ConfigError, getConfig, perConfig, type Config } from '../config';
import { jsonRpcErrorResponse, misconfigured, RPC_ERRORS } from '../http/answers';
import { receiveWorkosWebhook, type WebhookOutcome } from '../revocation/webhook';
import { createGovernance, type Governance, type GovernanceOptions } from './governance';

/**
 * POST /webhooks/workos: WorkOS events feeding the shared deny list. Every delivery is audited
 * (one `webhook_event` record, refused ones included: a bad signature, an old timestamp, a replay,
 * a body that is not an event) and answered with JSON; nothing in an answer echoes the request.
 */
export type WebhookEndpointOptions = {
  config?: () => Config;
  governance?: GovernanceOptions;
  waitUntil?: (task: Promise<unknown>) => void;
  auditLine?: AuditSink;
};

const MESSAGES: Record<WebhookOutcome['reason'], string> = {
  applied: 'applied',
  ignored: 'not an event this server acts on',
  duplicate: 'already applied',
  bad_signature: 'The WorkOS-Signature header does not verify',
  stale_timestamp: 'The signature timestamp is outside the 180 s window',
  malformed: 'The body is not a WorkOS event this server can apply',
  too_large: 'The body is too large',
  store_unavailable: 'The deny list cannot be written right now; retry later',
  not_configured: 'The webhook receiver is not configured (WORKOS_WEBHOOK_SECRET and a shared store)',
};

export function createWorkosWebhookEndpoint(
  options: WebhookEndpointOptions = {},
): (request: Request) => Promise<Response> {
  const governanceFor = perConfig(
    (config) => [config.issuer, config.maxTokenLifetimeSeconds, config.revocationFreshnessMs, config.workos?.apiKey],
    (config): Governance => createGovernance(config, options.governance),
  );
  return async (request) => {
    let config: Config;
    let governance: Governance;
    try {
      config = (options.config ?? getConfig)();
      governance = governanceFor(config);
    } catch (error) {
      console.error(error instanceof ConfigError ? `[config] ${error.message}` : '[config] failed to load');
      return misconfigured();
    }
    const started = performance.now();
    const trail = openTrail(config, undefined, options.auditLine);
    await trail.reserve(1);
    let outcome: WebhookOutcome;
    try {
      outcome = await receiveWorkosWebhook(request, {
        secret: governance.config.webhookSecret,
        store: governance.store,
        denyTtlSeconds: governance.config.denyTtlSeconds,
      });
    } catch {
      outcome = { status: 500, reason: 'malformed' };
    }
    const accepted = outcome.status === 200;
    trail.write({
      type: 'webhook_event',
      requestId: trail.requestId,
      method: 'POST /webhooks/workos',
      decision: accepted ? 'allow' : 'reject',
      reason: outcome.reason,
      status: outcome.status,
      durationMs: Math.round(performance.now() - started),
      ...(outcome.eventType ? { event: outcome.eventType.slice(0, 128) } : {}),
      ...(outcome.eventId ? { event_id: outcome.eventId } : {}),
      ...(outcome.denied ? { denied: outcome.denied } : {}),
    });
    const response = accepted
      ? new Response(JSON.stringify({ ok: true, outcome: outcome.reason }), {
          status: 200,
          headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
        })
      : jsonRpcErrorResponse(
          outcome.status,
          {
            code: outcome.status === 503 ? RPC_ERRORS.unavailable : RPC_ERRORS.invalidRequest,
            message: MESSAGES[outcome.reason],
            reason: outcome.reason,
          },
          outcome.status === 503 ? { headers: { 'retry-after': '5' } } : {},
        );
    return finishAfter(response, trail, options.waitUntil);
  };
}
