import type { ToolAnnotations } from '@modelcontextprotocol/server';
import { describeAccess } from './policy';
import type { Registry } from './registry';
import { satisfyingScopes, type ScopeHierarchy } from './scope-hierarchy';

/**
 * The access map of a registry: who may call which tool. One function feeds `npm run inventory`
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

export function inventoryRows(registry: Registry): InventoryRow[] {
  return registry.tools.map((tool) => {
    const access = tool.access;
    const requirements = typeof access === 'object' ? access : undefined;
    const roles = [...(requirements?.roles ?? [])];
    const permissions = [...(requirements?.permissions ?? [])];
    const scopes = [...(requirements?.scopes ?? [])];
    const impliedBy = scopes.flatMap((scope) =>
      satisfyingScopes(scope, registry.scopeHierarchy).filter((s) => s !== scope),
    );
    return {
      tool: tool.name,
      title: tool.title,
      access: describeAccess(access),
      scopes,
      impliedBy: [...new Set(impliedBy)].sort(),
      roles,
      permissions,
      org: requirements?.org === 'required' || roles.length > 0 || permissions.length > 0,
      annotations: annotationFlags(tool.annotations),
    };
  });
}

/** Markdown cells: pipes escaped, line breaks flattened, empty shown as a dash. */
function cell(value: string): string {
  const text = value.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').trim();
  return text === '' ? '-' : text;
}

const HEADER = [
  'tool',
  'title',
  'access',
  'scopes',
  'implied by',
  'roles',
  'permissions',
  'org',
  'annotations',
] as const;

export function inventoryMarkdown(rows: readonly InventoryRow[]): string {
  const lines = [`| ${HEADER.join(' | ')} |`, `|${HEADER.map(() => '---').join('|')}|`];
  for (const row of rows) {
    const cells = [
      `\`${row.tool}\``,
      cell(row.title),
      cell(row.access),
      cell(row.scopes.join(' ')),
      cell(row.impliedBy.join(' ')),
      cell(row.roles.join(' | ')),
      cell(row.permissions.join(' ')),
      row.org ? 'required' : '-',
      cell(row.annotations.join(', ')),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** One line per implying scope, for the text after the table; empty when there is no hierarchy. */
export function hierarchyLines(hierarchy: ScopeHierarchy): string[] {
  return Object.entries(hierarchy).map(([scope, implied]) => `${scope} implies ${implied.join(' ')}`);
}

/** The JSON form: the rows, plus whatever context the caller adds (issuer, audiences). */
export function inventoryJson(rows: readonly InventoryRow[], context: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ ...context, tools: rows }, null, 2)}\n`;
}
