import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { approvalsInForce } from '@/lib/auth/approvals';
import {
  approvalRows,
  approvalsMarkdown,
  expiringApprovals,
  inventoryJson,
  inventoryMarkdown,
  hierarchyLines,
  inventoryRows,
  primitiveRows,
  primitivesMarkdown,
  type InventoryRow,
} from '@/lib/inventory';
import { createRegistry, defineTool, jsonResult } from '@/lib/registry';
import { registry } from '@/tools';

/**
 * The access map (`npm run inventory`, the landing page): rows for the shipped tools, the
 * Markdown and JSON forms, and the CLI itself as a child process.
 */

describe('inventoryRows for the shipped registry', () => {
  const rows = inventoryRows(registry);

  it('has one row per tool, in registry order', () => {
    expect(rows.map((row) => row.tool)).toEqual(registry.tools.map((tool) => tool.name));
  });

  // Whatever tools/ holds: each row states its tool's declared requirements.
  it.each(registry.tools.map((tool) => [tool.name, tool] as const))('%s shows its declared policy', (name, tool) => {
    const row = rows.find((r) => r.tool === name)!;
    expect(row.title).toBe(tool.title);
    if (typeof tool.access === 'string') {
      expect(row).toMatchObject({ access: tool.access, scopes: [], roles: [], permissions: [] });
    } else {
      expect(row.scopes).toEqual(tool.access.scopes ?? []);
      expect(row.roles).toEqual(tool.access.roles ?? []);
      expect(row.permissions).toEqual(tool.access.permissions ?? []);
    }
  });
});

describe('inventoryRows on a fixture', () => {
  const tool = (
    name: string,
    access: Parameters<typeof defineTool>[0]['access'],
    annotations?: Record<string, boolean>,
  ) =>
    defineTool({
      name,
      title: `T|${name}`,
      description: 'd',
      access,
      input: z.object({}),
      annotations,
      handler: () => jsonResult({}),
    });
  const rows = inventoryRows(
    createRegistry([
      tool('admin_only', { roles: ['admin', 'owner'] }),
      tool(
        'manage',
        { scopes: ['a:write', 'a:read'], permissions: ['x:manage'] },
        { openWorldHint: true, readOnlyHint: false, idempotentHint: true },
      ),
      tool('scoped', { scopes: ['a:read'] }),
    ]),
  );

  it('a scope hierarchy shows which scopes also satisfy a row', () => {
    const [row] = inventoryRows(
      createRegistry([tool('scoped', { scopes: ['a:read'] })], {
        scopeHierarchy: { 'a:admin': ['a:write'], 'a:write': ['a:read'], 'b:all': ['a:read'] },
      }),
    );
    expect(row).toMatchObject({ scopes: ['a:read'], impliedBy: ['a:admin', 'a:write', 'b:all'] });
  });

  it('roles and permissions imply an organization; scopes alone do not', () => {
    expect(rows.map((row) => [row.tool, row.org])).toEqual([
      ['admin_only', true],
      ['manage', true],
      ['scoped', false],
    ]);
  });

  it('copies requirements in declared order and describes them like the audit trail', () => {
    expect(rows[0]).toMatchObject({
      access: 'role: admin | owner',
      roles: ['admin', 'owner'],
      scopes: [],
      permissions: [],
    });
    expect(rows[1]).toMatchObject({
      access: 'scopes: a:write a:read; permissions: x:manage',
      scopes: ['a:write', 'a:read'],
      permissions: ['x:manage'],
    });
  });

  it('flags only hints declared true, in a fixed order', () => {
    expect(rows[0]!.annotations).toEqual([]);
    expect(rows[1]!.annotations).toEqual(['idempotent', 'open-world']);
  });

  it('escapes pipes in Markdown cells so the table keeps its columns', () => {
    const lines = inventoryMarkdown(rows).trimEnd().split('\n');
    // 12 columns -> 13 unescaped pipes per line
    for (const line of lines) expect(line.replace(/\\\|/g, '').split('|').length - 1, line).toBe(13);
    expect(lines[2]).toContain('T\\|admin_only');
    expect(lines[2]).toContain('admin \\| owner');
  });
});

describe('inventoryMarkdown and inventoryJson for the shipped registry', () => {
  const rows = inventoryRows(registry);

  it('Markdown: a header, a separator, and one row per tool', () => {
    const lines = inventoryMarkdown(rows).trimEnd().split('\n');
    expect(lines[0]).toBe(
      '| tool | title | access | scopes | implied by | roles | permissions | org | callers | rate limit | live token | annotations |',
    );
    expect(lines[1]).toBe('|---|---|---|---|---|---|---|---|---|---|---|---|');
    expect(lines).toHaveLength(2 + registry.tools.length);
    for (const tool of registry.tools)
      expect(lines.filter((line) => line.startsWith(`| \`${tool.name}\` |`))).toHaveLength(1);
  });

  it('JSON: the rows under "tools", plus the context given', () => {
    const parsed = JSON.parse(inventoryJson(rows, { issuer: 'https://x.authkit.app' })) as {
      issuer: string;
      tools: InventoryRow[];
    };
    expect(parsed.issuer).toBe('https://x.authkit.app');
    expect(parsed.tools).toEqual(rows);
  });
});

describe('resources and prompts in the inventory', () => {
  it('lists every shipped resource and prompt, in declaration order', () => {
    expect(primitiveRows(registry).map((row) => row.name)).toEqual([
      ...registry.resources.map((r) => r.name),
      ...registry.prompts.map((p) => p.name),
    ]);
  });

  it('prints one table row per resource and prompt, and nothing for a registry without them', () => {
    const lines = primitivesMarkdown(primitiveRows(registry)).trimEnd().split('\n');
    expect(lines[0]).toBe(
      '| kind | name | uri | title | access | scopes | implied by | roles | permissions | org | callers | rate limit | live token |',
    );
    expect(lines).toHaveLength(2 + registry.resources.length + registry.prompts.length);
    const toolsOnly = createRegistry([
      defineTool({
        name: 't',
        title: 'T',
        description: 't',
        access: 'public',
        input: z.object({}),
        handler: () => jsonResult({}),
      }),
    ]);
    expect(primitivesMarkdown(primitiveRows(toolsOnly))).toBe('');
  });
});

describe('the CLI (scripts/inventory.ts under tsx)', () => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    AUTHKIT_DOMAIN: 'https://inventory-test.authkit.app',
    MCP_RESOURCE_URL: 'https://mcp.example.com/mcp',
    AUTH_EXTRA_AUDIENCES: '',
  };
  const run = (args: string[], extraEnv: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/inventory.ts', ...args], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...env, ...extraEnv },
    });

  it('--json prints parseable JSON with every tool, the trusted issuer and the audience', () => {
    const result = run(['--json']);
    expect(result.error).toBeUndefined();
    expect(result.status, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout) as { issuer: string; audiences: string[]; tools: InventoryRow[] };
    expect(parsed.tools.map((row) => row.tool)).toEqual(registry.tools.map((tool) => tool.name));
    expect(parsed.tools).toEqual(inventoryRows(registry));
    expect(parsed.issuer).toBe('https://inventory-test.authkit.app');
    expect(parsed.audiences).toEqual(['https://mcp.example.com/mcp']);
    expect(parsed).toMatchObject({ approvedClients: null });
    expect(parsed).toMatchObject({ scopeHierarchy: registry.scopeHierarchy });
  });

  it('lists a metadata-document client (an https client_id) exactly as configured', () => {
    const cimd = 'https://client.example.com/oauth/client.json';
    const result = run(['--json'], { ALLOWED_CLIENT_IDS: `client_a,${cimd}` });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ approvedClients: ['client_a', cimd] });
    expect(run([], { ALLOWED_CLIENT_IDS: `client_a,${cimd}` }).stdout).toContain(
      `\nApproved clients: client_a, ${cimd} (metadata document)\n`,
    );
  });

  it('lists the approved clients when ALLOWED_CLIENT_IDS is set', () => {
    const result = run(['--json'], { ALLOWED_CLIENT_IDS: 'client_a,client_b' });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ approvedClients: ['client_a', 'client_b'] });
    expect(run([], { ALLOWED_CLIENT_IDS: 'client_a,client_b' }).stdout).toContain(
      '\nApproved clients: client_a, client_b\n',
    );
  });

  it('prints the Markdown table, then the trusted issuer and audience', () => {
    const result = run([]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe(
      `${inventoryMarkdown(inventoryRows(registry))}\nResources and prompts:\n\n${primitivesMarkdown(primitiveRows(registry))}` +
        '\nTrusted issuer: https://inventory-test.authkit.app\nAudience: https://mcp.example.com/mcp\n' +
        'Approved clients: any client registered with the issuer, for people (no interactive approval, ALLOWED_CLIENT_IDS unset); machines and agents only when approved\n' +
        `Scope hierarchy: ${hierarchyLines(registry.scopeHierarchy).join('; ') || 'none (each scope grants only itself)'}\n`,
    );
  });

  it('against the local authorization server, prints the approvals in force and fails on those ending soon', () => {
    const local = { AUTHKIT_DOMAIN: '', MCP_RESOURCE_URL: '' };
    const inForce = approvalsInForce(registry.approvals, { localIssuer: true });
    const ending = expiringApprovals(inForce, Date.now(), 3650);
    const result = run(['--expiring-within', '3650'], local);
    expect(result.status, result.stderr).toBe(ending.length > 0 ? 2 : 0);
    for (const approval of ending) expect(result.stderr).toContain(`${approval.clientId} (${approval.expires}`);
    if (inForce.length > 0)
      expect(result.stdout).toContain(
        `\nApprovals:\n\n${approvalsMarkdown(approvalRows(registry.approvals, { localIssuer: true }))}`,
      );
  });

  it('a configuration error prints one line to stderr and exits 1', () => {
    const result = run([], { AUTHKIT_DOMAIN: 'http://issuer.example.com' });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.split('\n').filter((line) => line.trim() && !line.startsWith('npm warn'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[config\] AUTHKIT_DOMAIN: must use https:\/\//);
  });
});
