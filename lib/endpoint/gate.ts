import type { Challenge } from '../auth/challenge';
import type { Principal } from '../auth/principal';
import { evaluate, type Decision, type MembershipAnswer } from '../policy';
import type { Primitive, Registry, ResourceDefinition } from '../registry';
import type { Call, Envelope } from '../wire/envelope';
import { checkParamHeaders, type ParamCheck } from '../wire/params';

/**
 * The gate before dispatch: every call in the message (tools/call, resources/read, prompts/get,
 * completion/complete; each element of a batch) is evaluated against the policy of the primitive
 * it reaches, and one HTTP challenge covers all of them so a client re-authorizes once.
 */

export type GatedCall = {
  site: Call;
  primitive: Primitive;
  decision: Decision;
};

export type GateResult =
  | { kind: 'pass'; calls: GatedCall[] }
  | { kind: 'challenge'; challenge: Challenge; calls: GatedCall[] }
  | { kind: 'unavailable'; calls: GatedCall[] };

/** Listed to this caller: allowed, or reachable by signing in or stepping up. */
export const isVisible = (decision: Decision): boolean =>
  decision.effect === 'allow' || decision.effect === 'challenge';

/**
 * The primitive a call reaches. A resource URI is resolved among the resources `include` keeps (the
 * caller's visible ones, as the SDK server built for the caller resolves it); without `include`, any.
 */
export function primitiveOf(
  site: Call,
  registry: Registry,
  include?: (resource: ResourceDefinition) => boolean,
): Primitive | undefined {
  if (site.name === undefined) return undefined;
  const as = <K extends Primitive['kind']>(
    kind: K,
    definition: Extract<Primitive, { kind: K }>['definition'] | undefined,
  ) => (definition ? ({ kind, definition } as Primitive) : undefined);
  switch (site.method) {
    case 'tools/call':
      return as('tool', registry.get(site.name));
    case 'prompts/get':
      return as('prompt', registry.prompt(site.name));
    case 'resources/read':
      return as('resource', registry.resource(site.name, include)?.definition);
    case 'completion/complete':
      return site.ref === 'prompt'
        ? as('prompt', registry.prompt(site.name))
        : as('resource', registry.declaredAt(site.name));
  }
}

export function gate(
  envelope: Envelope,
  registry: Registry,
  principal: Principal,
  membership?: MembershipAnswer,
): GateResult {
  const visible = (resource: ResourceDefinition) =>
    isVisible(evaluate(resource.access, principal, membership, registry.scopeHierarchy));
  const calls: GatedCall[] = [];
  for (const site of envelope.calls) {
    // A URI resolves among the caller's visible resources first; a hidden match is still found (and
    // recorded as denied), while the SDK, which has only the visible ones, answers it as unknown.
    const primitive = primitiveOf(site, registry, visible) ?? primitiveOf(site, registry);
    // Unknown names go to the SDK, which answers them; hidden primitives answer exactly the same way.
    if (primitive)
      calls.push({
        site,
        primitive,
        decision: evaluate(primitive.definition.access, principal, membership, registry.scopeHierarchy),
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

/**
 * Declared Mcp-Param-* headers (2026-07-28) against the arguments of the tools this caller may see,
 * so a hidden tool still answers like an unknown one, whatever its headers say.
 */
export function paramRefusal(
  headers: Headers,
  calls: readonly GatedCall[],
): Extract<ParamCheck, { ok: false }> | undefined {
  for (const { primitive, decision, site } of calls) {
    // Mcp-Param-* headers are declared on tool input schemas only (SEP-2243).
    if (primitive.kind !== 'tool' || !isVisible(decision)) continue;
    const check = checkParamHeaders(headers, primitive.definition.input, site.arguments);
    if (!check.ok) return check;
  }
  return undefined;
}
