import type { UserPrincipal } from '../auth/principal';

/**
 * The deny list, pure: which entries could cover a token, and whether one does. An entry says
 * "tokens of this subject / session / client / organization membership issued at or before <time>
 * are revoked"; it expires with the longest token it could cover. A token issued after the entry
 * (a new sign-in once access was given back) is not covered.
 */

export const DENY_KINDS = ['subject', 'session', 'client', 'membership'] as const;
export type DenyKind = (typeof DENY_KINDS)[number];

export const DENY_PREFIX = 'mcp:deny:';

/** `membership` ids are `<organization id> <user id>`: a space cannot occur in either. */
export function denyKey(kind: DenyKind, id: string): string {
  return `${DENY_PREFIX}${kind}:${id}`;
}

export function membershipId(organizationId: string, userId: string): string {
  return `${organizationId} ${userId}`;
}

/** The entries that could cover this caller's token, in a fixed order. */
export function entriesFor(principal: UserPrincipal): { kind: DenyKind; key: string }[] {
  const entries: { kind: DenyKind; key: string }[] = [{ kind: 'subject', key: denyKey('subject', principal.subject) }];
  if (principal.sessionId) entries.push({ kind: 'session', key: denyKey('session', principal.sessionId) });
  if (principal.clientId) entries.push({ kind: 'client', key: denyKey('client', principal.clientId) });
  if (principal.organizationId)
    entries.push({
      kind: 'membership',
      key: denyKey('membership', membershipId(principal.organizationId, principal.subject)),
    });
  return entries;
}

/**
 * The first entry that covers the token, or undefined. `values[i]` is entry i's stored revocation
 * time (epoch seconds) or null. A value that is not a number covers the token: a damaged entry
 * must not let access through.
 */
export function coveringEntry(
  principal: UserPrincipal,
  entries: readonly { kind: DenyKind }[],
  values: readonly (string | null)[],
): DenyKind | undefined {
  for (const [index, entry] of entries.entries()) {
    const value = values[index];
    if (value === null || value === undefined) continue;
    const revokedAt = Number(value);
    if (!Number.isFinite(revokedAt) || principal.issuedAt <= revokedAt) return entry.kind;
  }
  return undefined;
}
