import type { Challenge } from '../auth/challenge';
import type { Principal } from '../auth/principal';
import { evaluate, type Decision, type MembershipAnswer } from '../policy';
import type { Registry, ToolDefinition } from '../registry';

/**
 * The gate before dispatch: every `tools/call` in the message (each element of a batch) is
 * evaluated, and one HTTP challenge covers all of them so a client re-authorizes once.
 */

/**
 * One `tools/call` element of the body, whatever its shape: the audit owes each one a record, so the
 * malformed ones (no string name, `arguments` that is not an object) are kept and marked.
 */
export type CallSite = {
  id: string | number | null;
  /** No `id` member: a notification, which the SDK never runs. */
  notification: boolean;
  name?: string;
  arguments: unknown;
  /** `params` has the shape the SDK's CallToolRequest schema accepts: an object, a string name, object or absent arguments. */
  wellFormed: boolean;
};

export type ToolCall = {
  site: CallSite;
  id: string | number | null;
  tool: ToolDefinition;
  arguments: unknown;
  decision: Decision;
};

export type GateResult =
  | { kind: 'pass'; calls: ToolCall[] }
  | { kind: 'challenge'; challenge: Challenge; calls: ToolCall[] }
  | { kind: 'unavailable'; calls: ToolCall[] };

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function callSitesIn(message: unknown): CallSite[] {
  const items = Array.isArray(message) ? message : [message];
  const sites: CallSite[] = [];
  for (const item of items) {
    if (!isPlainObject(item) || item.method !== 'tools/call') continue;
    const params = isPlainObject(item.params) ? item.params : undefined;
    const name = typeof params?.name === 'string' ? params.name : undefined;
    const args = params?.arguments;
    const id = typeof item.id === 'string' || typeof item.id === 'number' ? item.id : null;
    sites.push({
      id,
      notification: !('id' in item),
      name,
      arguments: args,
      wellFormed: name !== undefined && (args === undefined || isPlainObject(args)),
    });
  }
  return sites;
}

/** The tools/call requests that name a tool (what the gate and the lookup planner evaluate). */
export function toolCallsIn(message: unknown): Array<CallSite & { name: string }> {
  return callSitesIn(message).filter((site): site is CallSite & { name: string } => site.name !== undefined);
}

export function gate(
  message: unknown,
  registry: Registry,
  principal: Principal,
  membership?: MembershipAnswer,
  sites: readonly CallSite[] = callSitesIn(message),
): GateResult {
  const calls: ToolCall[] = [];
  for (const site of sites) {
    const tool = site.name === undefined ? undefined : registry.get(site.name);
    // Unknown names go to the SDK, which answers them; hidden tools answer exactly the same way.
    if (tool)
      calls.push({
        site,
        id: site.id,
        tool,
        arguments: site.arguments,
        decision: evaluate(tool.access, principal, membership, registry.scopeHierarchy),
      });
  }
  if (calls.some((c) => c.decision.effect === 'unavailable')) return { kind: 'unavailable', calls };

  const challenges = calls.flatMap((c) => (c.decision.effect === 'challenge' ? [c.decision.challenge] : []));
  if (challenges.length === 0) return { kind: 'pass', calls };
  const scopes = [...new Set(challenges.flatMap((c) => c.scopes))].sort();
  // A principal is either anonymous (every challenge is a 401) or signed in (every one is a 403).
  const challenge: Challenge =
    principal.kind === 'anonymous'
      ? { kind: 'authentication_required', scopes }
      : { kind: 'insufficient_scope', scopes, description: 'The access token lacks a scope this tool requires' };
  return { kind: 'challenge', challenge, calls };
}
