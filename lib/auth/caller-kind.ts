import { z } from 'zod';

/**
 * Who holds a verified access token, decided once from its claims (never from a header, a client
 * name or a registration). The sources, WorkOS Connect's "Access token claims" and "M2M
 * Applications" pages and RFC 8693 §4.1 for `act`:
 *
 *  - `user`: a person, delegated through an authorization-code (or refresh, device) grant. AuthKit
 *    puts the consent id in `sid`, and `sub` is the user, never the client.
 *  - `machine`: a client-credentials grant. No `sid`, and `sub` is the application's client id
 *    (`sub` = `client_id`); `aud` is the environment client id, `org_id` the application's organization.
 *  - `agent`: a token that says its subject is not a user (`sub_profile` present and not `user`,
 *    as WorkOS Agent Auth tokens do).
 *
 * A token with `act` was exchanged on someone's behalf (RFC 8693): the principal keeps the actor
 * chain, outermost first. A token that fits none of these, or fits two, is refused: a token of an
 * unknown kind is never taken for a person. So is a sender-constrained token (`cnf`, e.g. DPoP-bound):
 * this server checks no proof of possession, and accepting it as a bearer token would silently drop
 * the protection its issuer asked for.
 */

export const CALLER_KINDS = ['user', 'machine', 'agent'] as const;
export const CallerKindSchema = z.enum(CALLER_KINDS);
export type CallerKind = z.infer<typeof CallerKindSchema>;

/** The claims classification reads; everything is optional here, the verifier has required what it needs. */
export type KindClaims = {
  sub: string;
  client_id?: string;
  sid?: string;
  sub_profile?: unknown;
  act?: unknown;
  cnf?: unknown;
};

export type Classification =
  | { ok: true; kind: CallerKind; actors: string[] }
  | { ok: false; reason: 'sender_constrained' | 'unclassifiable' | 'invalid_actor' };

/** Deepest `act` nesting followed; a longer chain is refused rather than cut. */
const MAX_ACTORS = 8;

/** `act: { sub, act: { sub, ... } }` as a list of subjects, outermost (current actor) first; undefined when malformed. */
export function actorChain(act: unknown): string[] | undefined {
  const chain: string[] = [];
  let current = act;
  while (current !== undefined) {
    if (chain.length >= MAX_ACTORS) return undefined;
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    const { sub, act: next } = current as { sub?: unknown; act?: unknown };
    if (typeof sub !== 'string' || sub.length === 0) return undefined;
    chain.push(sub);
    current = next;
  }
  return chain;
}

export function classifyCaller(claims: KindClaims): Classification {
  if (claims.cnf !== undefined) return { ok: false, reason: 'sender_constrained' };
  const actors = actorChain(claims.act);
  if (actors === undefined) return { ok: false, reason: 'invalid_actor' };
  const profile = claims.sub_profile;
  if (profile !== undefined && typeof profile !== 'string') return { ok: false, reason: 'unclassifiable' };
  const hasSession = claims.sid !== undefined;
  const subjectIsClient = claims.client_id !== undefined && claims.sub === claims.client_id;
  if (profile !== undefined && profile !== 'user') {
    // An agent is its own identity; a client-credentials shape on top of it would be two kinds at once.
    return subjectIsClient && !hasSession
      ? { ok: false, reason: 'unclassifiable' }
      : { ok: true, kind: 'agent', actors };
  }
  if (hasSession && !subjectIsClient) return { ok: true, kind: 'user', actors };
  // A machine never acts for someone else: `act` on a client-credentials token is a shape no issuer documents.
  if (!hasSession && subjectIsClient && profile === undefined && actors.length === 0)
    return { ok: true, kind: 'machine', actors };
  return { ok: false, reason: 'unclassifiable' };
}

/** The fixed description of each refusal: nothing from the token is copied into it. */
export const CLASSIFICATION_DESCRIPTIONS: Record<Extract<Classification, { ok: false }>['reason'], string> = {
  sender_constrained: 'Sender-constrained (cnf) tokens are not supported; present a plain bearer token',
  unclassifiable: 'The access token is neither a user, a machine nor an agent token',
  invalid_actor: 'The access token has an invalid act claim',
};
