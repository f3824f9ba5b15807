import { z } from 'zod';
import { clientIdProblem, type Config } from '../config';
import { RPC_ERRORS, type Refusal } from '../http/answers';
import type { CallerKind } from './caller-kind';
import { isScopeToken } from './challenge';
import type { Principal } from './principal';

/**
 * Client approvals as code: which OAuth clients may call, what kind of caller each one is, who
 * owns it and why it exists, the most it may be granted and until when. Declared in one reviewed
 * file (tools/approvals.ts), checked when the registry loads, decided here for every request after
 * authentication and before the gate. Pure: `now` is passed in.
 *
 * Who must be listed: a machine or an agent always (a standing credential needs an owner and an
 * end date); a person's client only while the list of interactive clients is in use, that is when
 * ALLOWED_CLIENT_IDS is set or the file lists an interactive client, since MCP clients register
 * dynamically and get a new id each time.
 */

/** What kind of client an approval is for, and the caller kind its tokens must classify as. */
export const APPROVAL_KINDS = { interactive: 'user', machine: 'machine', agent: 'agent' } as const satisfies Record<
  string,
  CallerKind
>;
type ApprovalKind = keyof typeof APPROVAL_KINDS;

/** Scopes every sign-in may carry that grant nothing here; a ceiling need not list them. */
const IDENTITY_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export const ApprovalSchema = z.strictObject({
  /** The client id exactly as tokens carry it: an opaque id, or a metadata-document https URL in canonical form. */
  clientId: z.string().superRefine((value, ctx) => {
    const problem = clientIdProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  kind: z.enum(Object.keys(APPROVAL_KINDS) as [ApprovalKind, ...ApprovalKind[]]),
  /** A person or team to ask about it. */
  owner: z.string().trim().min(1),
  purpose: z.string().trim().min(1),
  /** The most its tokens may carry; a token granted more is refused. */
  scopes: z.array(z.string().refine(isScopeToken, 'not a valid OAuth scope token')),
  /** The first day (UTC) it is refused, YYYY-MM-DD. */
  expires: z
    .string()
    .regex(DATE, 'a date as YYYY-MM-DD')
    .refine((value) => {
      const day = new Date(`${value}T00:00:00Z`);
      return !Number.isNaN(day.getTime()) && day.toISOString().startsWith(value);
    }, 'not a calendar date'),
  /** Honoured only against the bundled local authorization server (development seeds). */
  localOnly: z.boolean().optional(),
});
export type Approval = z.infer<typeof ApprovalSchema>;

/** When an approval stops: the start of its `expires` day, UTC, in milliseconds. */
export const expiresAt = (approval: Approval): number => Date.parse(`${approval.expires}T00:00:00Z`);

/** The approvals in force under this configuration (local-only seeds only against the local server). */
export function approvalsInForce(approvals: readonly Approval[], config: Pick<Config, 'localIssuer'>): Approval[] {
  return approvals.filter((approval) => !approval.localOnly || config.localIssuer);
}

const refusal = (reason: string, message: string): Refusal => ({
  status: 403,
  code: RPC_ERRORS.forbidden,
  message,
  reason,
});

/**
 * Why this caller's client may not call at all (403, audited), or undefined when it may.
 * Re-authorizing cannot fix any of these, so none is a challenge.
 */
export function approvalRefusal(
  principal: Principal,
  approvals: readonly Approval[],
  config: Pick<Config, 'allowedClientIds' | 'localIssuer'>,
  now: number,
): Refusal | undefined {
  if (principal.kind !== 'user') return undefined;
  const inForce = approvalsInForce(approvals, config);
  const clientId = principal.clientId ?? '';
  const approval = inForce.find((entry) => entry.clientId === clientId);
  if (!approval) {
    const listedByEnv = config.allowedClientIds?.includes(clientId) ?? false;
    // ALLOWED_CLIENT_IDS approves people's clients only: a machine or an agent needs an owner and an expiry.
    if (principal.callerKind !== 'user')
      return refusal('client_not_allowed', 'This OAuth client is not approved for this server');
    const listInUse = config.allowedClientIds !== undefined || inForce.some((entry) => entry.kind === 'interactive');
    return listInUse && !listedByEnv
      ? refusal('client_not_allowed', 'This OAuth client is not approved for this server')
      : undefined;
  }
  if (APPROVAL_KINDS[approval.kind] !== principal.callerKind)
    return refusal('client_kind_mismatch', 'This OAuth client is approved for another kind of caller');
  if (now >= expiresAt(approval)) return refusal('client_approval_expired', "This OAuth client's approval has expired");
  const ceiling = new Set(approval.scopes);
  if (principal.scopes.some((scope) => !ceiling.has(scope) && !IDENTITY_SCOPES.has(scope)))
    return refusal('client_scope_ceiling', 'The token carries scopes beyond what this OAuth client is approved for');
  return undefined;
}
