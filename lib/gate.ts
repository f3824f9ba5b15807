import type { Challenge } from './auth/challenge';
import type { Principal } from './auth/principal';
import { evaluate, type Decision, type MembershipAnswer } from './policy';
import type { Registry, ToolDefinition } from './registry';

/**
 * The gate before dispatch: every `tools/call` in the message (each element of a batch) is
 * evaluated, and one HTTP challenge covers all of them so a client re-authorizes once.
 */
export type ToolCall = { id: string | number | null; tool: ToolDefinition; arguments: unknown; decision: Decision };

export type GateResult =
  | { kind: 'pass'; calls: ToolCall[] }
  | { kind: 'challenge'; challenge: Challenge; calls: ToolCall[] }
  | { kind: 'unavailable'; calls: ToolCall[] };

type RpcLike = { method?: unknown; id?: unknown; params?: unknown };

/** The tools/call requests in a parsed body, ignoring anything that is not one. */
type CallSite = { id: string | number | null; name: string; arguments: unknown };

export function toolCallsIn(message: unknown): CallSite[] {
  const items = Array.isArray(message) ? message : [message];
  const calls: CallSite[] = [];
  for (const item of items) {
    if (typeof item !== 'object' || item === null) continue;
    const rpc = item as RpcLike;
    if (rpc.method !== 'tools/call' || typeof rpc.params !== 'object' || rpc.params === null) continue;
    const { name, arguments: args } = rpc.params as { name?: unknown; arguments?: unknown };
    if (typeof name !== 'string') continue;
    const id = typeof rpc.id === 'string' || typeof rpc.id === 'number' ? rpc.id : null;
    calls.push({ id, name, arguments: args });
  }
  return calls;
}

export function gate(
  message: unknown,
  registry: Registry,
  principal: Principal,
  membership?: MembershipAnswer,
): GateResult {
  const calls: ToolCall[] = [];
  for (const { id, name, arguments: args } of toolCallsIn(message)) {
    const tool = registry.get(name);
    // Unknown names go to the SDK, which answers them; hidden tools answer exactly the same way.
    if (tool) calls.push({ id, tool, arguments: args, decision: evaluate(tool.access, principal, membership) });
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
