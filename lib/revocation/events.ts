import { z } from 'zod';
import { type DenyKind, membershipId } from './deny-list';

/**
 * WorkOS events (workos.com/docs/events) as they arrive in a webhook body, and the deny-list
 * entries each one writes. Pure. Payloads follow the API objects; only the fields read here are
 * required, and an event of a known type whose fields do not parse is refused, never half-applied.
 */

const Id = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\s]+$/, 'no whitespace');

export const WorkosEventSchema = z.looseObject({
  id: Id,
  event: z.string().min(1).max(128),
  data: z.record(z.string(), z.unknown()),
  created_at: z.string().optional(),
});
export type WorkosEvent = z.infer<typeof WorkosEventSchema>;

const WithId = z.looseObject({ id: Id });
const Membership = z.looseObject({ user_id: Id, organization_id: Id });

export type Denial = { kind: DenyKind; id: string };

/**
 * What each handled event denies:
 * - `session.revoked`: the session (tokens whose `sid` is it; an MCP token's `sid` is its consent,
 *   which has no event: primitives that need a live token introspect instead);
 * - `user.deleted`: every token of the user;
 * - `organization_membership.deleted` / `.updated`: the user's tokens for that organization (a
 *   changed role must be read afresh: the next token is issued after the change);
 * - `api_key.revoked`, `agent.registration.revoked`: the client (tokens whose `client_id` is it);
 * - `agent.instance.session.revoked`: the agent's session.
 */
const HANDLERS: Record<string, (data: unknown) => Denial[] | undefined> = {
  'session.revoked': (data) => one('session', WithId.safeParse(data).data?.id),
  'user.deleted': (data) => one('subject', WithId.safeParse(data).data?.id),
  'organization_membership.deleted': membership,
  'organization_membership.updated': membership,
  'api_key.revoked': (data) => one('client', WithId.safeParse(data).data?.id),
  'agent.registration.revoked': (data) => {
    const parsed = z.looseObject({ client_id: Id.optional(), id: Id }).safeParse(data).data;
    return one('client', parsed?.client_id ?? parsed?.id);
  },
  'agent.instance.session.revoked': (data) => one('session', WithId.safeParse(data).data?.id),
};

function one(kind: DenyKind, id: string | undefined): Denial[] | undefined {
  return id === undefined ? undefined : [{ kind, id }];
}

function membership(data: unknown): Denial[] | undefined {
  const parsed = Membership.safeParse(data).data;
  return parsed && [{ kind: 'membership', id: membershipId(parsed.organization_id, parsed.user_id) }];
}

export const HANDLED_EVENTS: readonly string[] = Object.keys(HANDLERS);

/**
 * `ignored`: a type this server does not act on (still audited); `malformed`: a handled type whose
 * payload lacks what it needs; otherwise the denials to write.
 */
export function denialsFor(
  event: WorkosEvent,
): { kind: 'ignored' } | { kind: 'malformed' } | { kind: 'deny'; denials: Denial[] } {
  const handler = Object.hasOwn(HANDLERS, event.event) ? HANDLERS[event.event] : undefined;
  if (!handler) return { kind: 'ignored' };
  const denials = handler(event.data);
  return denials ? { kind: 'deny', denials } : { kind: 'malformed' };
}
