import type { ToolAnnotations } from '@modelcontextprotocol/server';
import { type Approval, approvalsInForce, expiresAt } from './auth/approvals';
import type { CallerKind } from './auth/caller-kind';
import type { Config } from './config';
import { type Access, callersOf, describeAccess } from './policy';
import { describeRate, type Governed } from './limits';
import type { Registry } from './registry';
import { satisfyingScopes, type ScopeHierarchy } from './scope-hierarchy';

/**
 * The access map of a registry: who may call which tool, read which resource, get which prompt. One function feeds `npm run inventory`
 * (Markdown or JSON) and the landing page, so the two cannot disagree. Pure and Edge-safe.
 */

export type InventoryRow = {
  tool: string;
  title: string;
  /** The one-line policy, exactly as the audit trail records it (`describeAccess`). */
  access: string;
  /** Scopes the token must carry (all of them). */
  scopes: string[];
  /** Scopes that imply one of `scopes` through the hierarchy (SEP-2350), so a token with them suffices too. */
  impliedBy: string[];
  /** Any one of these roles. */
  roles: string[];
  /** All of these permissions. */
  permissions: string[];
  /** True when the token must carry `org_id` (declared, or implied by roles/permissions). */
  org: boolean;
  /** Which kinds of caller may call: people only unless the policy says more; every kind when public. */
  callers: CallerKind[];
  /** The declared rate limit per caller (`describeRate`), or `none`. */
  rateLimit: string;
  /** True when each call introspects the token at its issuer first. */
  liveToken: boolean;
  /** Short flags for the annotation hints declared `true`, in a fixed order. Hints only, never authorization. */
  annotations: AnnotationFlag[];
};

export type AnnotationFlag = 'read-only' | 'destructive' | 'idempotent' | 'open-world';

const FLAGS: ReadonlyArray<[keyof ToolAnnotations, AnnotationFlag]> = [
  ['readOnlyHint', 'read-only'],
  ['destructiveHint', 'destructive'],
  ['idempotentHint', 'idempotent'],
  ['openWorldHint', 'open-world'],
];

function annotationFlags(annotations: ToolAnnotations | undefined): AnnotationFlag[] {
  return FLAGS.filter(([hint]) => annotations?.[hint] === true).map(([, flag]) => flag);
}

type AccessColumns = Pick<
  InventoryRow,
  'access' | 'scopes' | 'impliedBy' | 'roles' | 'permissions' | 'org' | 'callers' | 'rateLimit' | 'liveToken'
>;

/** What a policy requires, and what is declared beside it, as the inventory shows it for every primitive. */
function accessColumns(
  { access, rate, liveToken }: { access: Access } & Governed,
  hierarchy: ScopeHierarchy,
): AccessColumns {
  const requirements = typeof access === 'object' ? access : undefined;
  const roles = [...(requirements?.roles ?? [])];
  const permissions = [...(requirements?.permissions ?? [])];
  const scopes = [...(requirements?.scopes ?? [])];
  const impliedBy = scopes.flatMap((scope) => satisfyingScopes(scope, hierarchy).filter((s) => s !== scope));
  return {
    access: describeAccess(access),
    scopes,
    impliedBy: [...new Set(impliedBy)].sort(),
    roles,
    permissions,
    org: requirements?.org === 'required' || roles.length > 0 || permissions.length > 0,
    callers: [...callersOf(access)],
    rateLimit: describeRate(rate, access === 'public'),
    liveToken: liveToken === true,
  };
}

export function inventoryRows(registry: Registry): InventoryRow[] {
  return registry.tools.map((tool) => {
    const columns = accessColumns(tool, registry.scopeHierarchy);
    return {
      tool: tool.name,
      title: tool.title,
      ...columns,
      annotations: annotationFlags(tool.annotations),
    };
  });
}

/** A resource (static URI or template) or a prompt, with the same access columns as a tool. */
export type PrimitiveRow = { kind: 'resource' | 'prompt'; name: string; uri?: string; title: string } & AccessColumns;

export function primitiveRows(registry: Registry): PrimitiveRow[] {
  const hierarchy = registry.scopeHierarchy;
  return [
    ...registry.resources.map((resource) => ({
      kind: 'resource' as const,
      name: resource.name,
      uri: resource.uri,
      title: resource.title,
      ...accessColumns(resource, hierarchy),
    })),
    ...registry.prompts.map((prompt) => ({
      kind: 'prompt' as const,
      name: prompt.name,
      title: prompt.title,
      ...accessColumns(prompt, hierarchy),
    })),
  ];
}

/** Markdown cells: pipes escaped, line breaks flattened, empty shown as a dash. */
function cell(value: string): string {
  const text = value.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').trim();
  return text === '' ? '-' : text;
}

/** The columns every primitive's row has: what its policy requires. */
const ACCESS_HEADER = [
  'access',
  'scopes',
  'implied by',
  'roles',
  'permissions',
  'org',
  'callers',
  'rate limit',
  'live token',
] as const;

function accessCells(row: AccessColumns): string[] {
  return [
    cell(row.access),
    cell(row.scopes.join(' ')),
    cell(row.impliedBy.join(' ')),
    cell(row.roles.join(' | ')),
    cell(row.permissions.join(' ')),
    row.org ? 'required' : '-',
    cell(row.callers.join(' ')),
    cell(row.rateLimit),
    row.liveToken ? 'introspected' : '-',
  ];
}

const HEADER = ['tool', 'title', ...ACCESS_HEADER, 'annotations'] as const;

/** A Markdown table: the header, its rule, one line per row of cells. */
function markdownTable(header: readonly string[], rows: readonly string[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const cells of rows) lines.push(`| ${cells.join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

export function inventoryMarkdown(rows: readonly InventoryRow[]): string {
  return markdownTable(
    HEADER,
    rows.map((row) => [`\`${row.tool}\``, cell(row.title), ...accessCells(row), cell(row.annotations.join(', '))]),
  );
}

const PRIMITIVE_HEADER = ['kind', 'name', 'uri', 'title', ...ACCESS_HEADER] as const;

/** The resources and prompts table; empty when the registry has neither. */
export function primitivesMarkdown(rows: readonly PrimitiveRow[]): string {
  if (rows.length === 0) return '';
  return markdownTable(
    PRIMITIVE_HEADER,
    rows.map((row) => [
      row.kind,
      `\`${row.name}\``,
      row.uri === undefined ? '-' : `\`${cell(row.uri)}\``,
      cell(row.title),
      ...accessCells(row),
    ]),
  );
}

/** One line per implying scope, for the text after the table; empty when there is no hierarchy. */
export function hierarchyLines(hierarchy: ScopeHierarchy): string[] {
  return Object.entries(hierarchy).map(([scope, implied]) => `${scope} implies ${implied.join(' ')}`);
}

/** The JSON form: the rows, plus whatever context the caller adds (issuer, audiences). */
export function inventoryJson(rows: readonly InventoryRow[], context: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ ...context, tools: rows }, null, 2)}\n`;
}

/** One approved client as the inventory and the landing page show it. */
export type ApprovalRow = {
  clientId: string;
  kind: Approval['kind'];
  /** Empty for an ALLOWED_CLIENT_IDS entry: the environment says nothing but its id. */
  owner: string;
  purpose: string;
  /** The scope ceiling; null when there is none (ALLOWED_CLIENT_IDS). */
  scopes: string[] | null;
  /** YYYY-MM-DD, the first day it is refused; null when it never expires (ALLOWED_CLIENT_IDS). */
  expires: string | null;
  source: 'approvals' | 'ALLOWED_CLIENT_IDS';
};

/** The approvals in force under this configuration, then the ALLOWED_CLIENT_IDS entries they do not list. */
export function approvalRows(
  approvals: readonly Approval[],
  config: Pick<Config, 'allowedClientIds' | 'localIssuer'>,
): ApprovalRow[] {
  const inForce = approvalsInForce(approvals, config);
  const listed = new Set(inForce.map((approval) => approval.clientId));
  return [
    ...inForce.map((approval) => ({
      clientId: approval.clientId,
      kind: approval.kind,
      owner: approval.owner,
      purpose: approval.purpose,
      scopes: [...approval.scopes],
      expires: approval.expires,
      source: 'approvals' as const,
    })),
    ...(config.allowedClientIds ?? [])
      .filter((id) => !listed.has(id))
      .map((id) => ({
        clientId: id,
        kind: 'interactive' as const,
        owner: '',
        purpose: '',
        scopes: null,
        expires: null,
        source: 'ALLOWED_CLIENT_IDS' as const,
      })),
  ];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Approvals that have expired or expire within `days` of `now`: what the inventory's CI gate fails on. */
export function expiringApprovals(approvals: readonly Approval[], now: number, days: number): Approval[] {
  return approvals.filter((approval) => expiresAt(approval) - now <= days * DAY_MS);
}

const APPROVAL_HEADER = ['client', 'kind', 'owner', 'purpose', 'scope ceiling', 'expires'] as const;

export function approvalsMarkdown(rows: readonly ApprovalRow[]): string {
  return markdownTable(
    APPROVAL_HEADER,
    rows.map((row) => [
      `\`${cell(row.clientId)}\``,
      row.kind,
      row.source === 'ALLOWED_CLIENT_IDS' ? 'ALLOWED_CLIENT_IDS' : cell(row.owner),
      cell(row.purpose),
      row.scopes === null ? 'none' : cell(row.scopes.join(' ')),
      row.expires ?? 'never',
    ]),
  );
}
