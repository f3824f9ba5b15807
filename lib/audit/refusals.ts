import type { OnRefused } from '../http/front-door';
import { finishAfter, openTrail } from './log';

/**
 * The front door's refusals, audited: one `request_rejected` record each, its HTTP copy flushed
 * through `waitUntil` after the response. middleware.ts and app/mcp/route.ts pass this hook.
 */
export function auditRefusals(waitUntil: (task: Promise<unknown>) => void): OnRefused {
  return async ({ request, config, response, reason }) => {
    const trail = openTrail(config);
    await trail.reserve(1);
    trail.write({
      type: 'request_rejected',
      requestId: trail.requestId,
      method: request.method === 'OPTIONS' ? 'preflight' : undefined,
      decision: 'reject',
      reason,
      status: response.status,
      durationMs: 0,
    });
    return finishAfter(response, trail, waitUntil);
  };
}
