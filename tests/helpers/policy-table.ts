import type { Access } from '@/lib/policy';

/**
 * The policy table's specification, shared by the two halves of tests/unit/policy-table.test.ts
 * (tools; resources, prompts and completions): one evaluate decides for all three, so every
 * primitive must answer each cell the same way. Written out by hand on purpose.
 */
export const POLICIES = {
  open: 'public',
  member_area: 'signed-in',
  docs_read: { scopes: ['docs:read'] },
  org_docs_write: { scopes: ['docs:write'], org: 'required' },
  admin_panel: { roles: ['admin'] },
  staff_area: { roles: ['admin', 'member'] }, // any one of the roles
  notes_manage: { permissions: ['notes:manage'] },
} as const satisfies Record<string, Access>;
export type ToolName = keyof typeof POLICIES;
export const TOOL_NAMES = Object.keys(POLICIES) as ToolName[];

// ---------------------------------------------------------------------------------------------
// Callers. `undefined` = anonymous (no Authorization header); otherwise the token's claims.
// ---------------------------------------------------------------------------------------------
export const RIGHT = 'openid docs:read docs:write';
export const CALLERS = {
  anonymous: undefined,
  no_scopes: { org_id: 'org_acme', scope: 'openid', roles: ['member'], permissions: [] },
  right_scopes: { org_id: 'org_acme', scope: RIGHT, roles: ['member'], permissions: ['notes:read'] },
  right_scopes_no_org: { scope: RIGHT },
  other_org: { org_id: 'org_globex', scope: RIGHT, roles: ['member'], permissions: ['notes:read'] },
  member: { org_id: 'org_acme', scope: RIGHT, role: 'member', permissions: ['notes:read'] }, // single `role` claim form
  admin: { org_id: 'org_acme', scope: RIGHT, roles: ['admin'], permissions: ['notes:manage'] },
  manager_not_admin: { org_id: 'org_acme', scope: RIGHT, roles: ['member'], permissions: ['notes:manage'] },
  no_org: { scope: 'openid' },
  no_membership_claims: { org_id: 'org_acme', scope: RIGHT }, // roles/permissions need a WorkOS lookup; none is configured here
} as const satisfies Record<string, Record<string, unknown> | undefined>;
export type CallerName = keyof typeof CALLERS;
export const CALLER_NAMES = Object.keys(CALLERS) as CallerName[];
/** Each caller's token claims (useEndpoint adds `aud`): `user_<name>` of client_1, then the caller's own. */
export const CALLER_CLAIMS = Object.fromEntries(
  CALLER_NAMES.map((caller) => {
    const claims = CALLERS[caller];
    return [caller, claims ? { sub: `user_${caller}`, client_id: 'client_1', ...claims } : undefined];
  }),
) as Record<CallerName, Record<string, unknown> | undefined>;

export const RESOURCE = 'http://127.0.0.1:1/mcp';
export const PRM = 'http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp';
export const SIGN_IN = `Bearer resource_metadata="${PRM}"`;
export const SIGN_IN_DOCS_READ = `Bearer resource_metadata="${PRM}", scope="docs:read"`;
export const SIGN_IN_DOCS_WRITE = `Bearer resource_metadata="${PRM}", scope="docs:write"`;
export const STEP_UP = (scope: string) =>
  `Bearer error="insufficient_scope", scope="${scope}", error_description="The access token lacks a scope this tool requires", resource_metadata="${PRM}"`;

export type Row = {
  caller: CallerName;
  tool: ToolName;
  status: 200 | 401 | 403 | 503;
  www: string | null;
  ran: boolean;
  listed: boolean;
  as: 'result' | 'unknown' | 'rpc-error';
};
export const OK = { status: 200, www: null, ran: true, listed: true, as: 'result' } as const;
export const HIDDEN = { status: 200, www: null, ran: false, listed: false, as: 'unknown' } as const;
export const UNAVAILABLE = { status: 503, www: null, ran: false, listed: false, as: 'rpc-error' } as const;
export const challenge = (status: 401 | 403, www: string) =>
  ({ status, www, ran: false, listed: true, as: 'rpc-error' }) as const;

export const TABLE: Row[] = [
  // public: anyone
  { tool: 'open', caller: 'anonymous', ...OK },
  { tool: 'open', caller: 'no_scopes', ...OK },
  { tool: 'open', caller: 'right_scopes', ...OK },
  { tool: 'open', caller: 'right_scopes_no_org', ...OK },
  { tool: 'open', caller: 'other_org', ...OK },
  { tool: 'open', caller: 'member', ...OK },
  { tool: 'open', caller: 'admin', ...OK },
  { tool: 'open', caller: 'manager_not_admin', ...OK },
  { tool: 'open', caller: 'no_org', ...OK },
  { tool: 'open', caller: 'no_membership_claims', ...OK },

  // signed-in: any valid token; anonymous is asked to sign in (no scope parameter)
  { tool: 'member_area', caller: 'anonymous', ...challenge(401, SIGN_IN) },
  { tool: 'member_area', caller: 'no_scopes', ...OK },
  { tool: 'member_area', caller: 'right_scopes', ...OK },
  { tool: 'member_area', caller: 'right_scopes_no_org', ...OK },
  { tool: 'member_area', caller: 'other_org', ...OK },
  { tool: 'member_area', caller: 'member', ...OK },
  { tool: 'member_area', caller: 'admin', ...OK },
  { tool: 'member_area', caller: 'manager_not_admin', ...OK },
  { tool: 'member_area', caller: 'no_org', ...OK },
  { tool: 'member_area', caller: 'no_membership_claims', ...OK },

  // scopes only: docs:read; no organization needed
  { tool: 'docs_read', caller: 'anonymous', ...challenge(401, SIGN_IN_DOCS_READ) },
  { tool: 'docs_read', caller: 'no_scopes', ...challenge(403, STEP_UP('docs:read openid')) },
  { tool: 'docs_read', caller: 'right_scopes', ...OK },
  { tool: 'docs_read', caller: 'right_scopes_no_org', ...OK },
  { tool: 'docs_read', caller: 'other_org', ...OK },
  { tool: 'docs_read', caller: 'member', ...OK },
  { tool: 'docs_read', caller: 'admin', ...OK },
  { tool: 'docs_read', caller: 'manager_not_admin', ...OK },
  { tool: 'docs_read', caller: 'no_org', ...challenge(403, STEP_UP('docs:read openid')) },
  { tool: 'docs_read', caller: 'no_membership_claims', ...OK },

  // scopes + organization: docs:write, org required; without org_id it is out of reach (hidden)
  { tool: 'org_docs_write', caller: 'anonymous', ...challenge(401, SIGN_IN_DOCS_WRITE) },
  { tool: 'org_docs_write', caller: 'no_scopes', ...challenge(403, STEP_UP('docs:write openid')) },
  { tool: 'org_docs_write', caller: 'right_scopes', ...OK },
  { tool: 'org_docs_write', caller: 'right_scopes_no_org', ...HIDDEN },
  { tool: 'org_docs_write', caller: 'other_org', ...OK },
  { tool: 'org_docs_write', caller: 'member', ...OK },
  { tool: 'org_docs_write', caller: 'admin', ...OK },
  { tool: 'org_docs_write', caller: 'manager_not_admin', ...OK },
  { tool: 'org_docs_write', caller: 'no_org', ...HIDDEN },
  { tool: 'org_docs_write', caller: 'no_membership_claims', ...OK },

  // role admin (organization implied): anonymous may still sign in, so it is listed for them
  { tool: 'admin_panel', caller: 'anonymous', ...challenge(401, SIGN_IN) },
  { tool: 'admin_panel', caller: 'no_scopes', ...HIDDEN },
  { tool: 'admin_panel', caller: 'right_scopes', ...HIDDEN },
  { tool: 'admin_panel', caller: 'right_scopes_no_org', ...HIDDEN },
  { tool: 'admin_panel', caller: 'other_org', ...HIDDEN },
  { tool: 'admin_panel', caller: 'member', ...HIDDEN },
  { tool: 'admin_panel', caller: 'admin', ...OK },
  { tool: 'admin_panel', caller: 'manager_not_admin', ...HIDDEN },
  { tool: 'admin_panel', caller: 'no_org', ...HIDDEN },
  { tool: 'admin_panel', caller: 'no_membership_claims', ...HIDDEN }, // WORKOS_API_KEY unset: unreachable, not 503

  // roles admin | member: any one role suffices (organization implied)
  { tool: 'staff_area', caller: 'anonymous', ...challenge(401, SIGN_IN) },
  { tool: 'staff_area', caller: 'no_scopes', ...OK },
  { tool: 'staff_area', caller: 'right_scopes', ...OK },
  { tool: 'staff_area', caller: 'right_scopes_no_org', ...HIDDEN },
  { tool: 'staff_area', caller: 'other_org', ...OK },
  { tool: 'staff_area', caller: 'member', ...OK },
  { tool: 'staff_area', caller: 'admin', ...OK },
  { tool: 'staff_area', caller: 'manager_not_admin', ...OK },
  { tool: 'staff_area', caller: 'no_org', ...HIDDEN },
  { tool: 'staff_area', caller: 'no_membership_claims', ...HIDDEN }, // WORKOS_API_KEY unset: unreachable, not 503

  // permission notes:manage (organization implied)
  { tool: 'notes_manage', caller: 'anonymous', ...challenge(401, SIGN_IN) },
  { tool: 'notes_manage', caller: 'no_scopes', ...HIDDEN },
  { tool: 'notes_manage', caller: 'right_scopes', ...HIDDEN },
  { tool: 'notes_manage', caller: 'right_scopes_no_org', ...HIDDEN },
  { tool: 'notes_manage', caller: 'other_org', ...HIDDEN },
  { tool: 'notes_manage', caller: 'member', ...HIDDEN },
  { tool: 'notes_manage', caller: 'admin', ...OK },
  { tool: 'notes_manage', caller: 'manager_not_admin', ...OK },
  { tool: 'notes_manage', caller: 'no_org', ...HIDDEN },
  { tool: 'notes_manage', caller: 'no_membership_claims', ...HIDDEN }, // WORKOS_API_KEY unset: unreachable, not 503
];
