import { describe, expect, it } from 'vitest';
import { type InventoryRow, inventoryRows, primitiveRows } from '@/lib/inventory';
import { registry } from '@/tools';

/**
 * The notes example in the access map (`npm run inventory`, the landing page), written out by hand
 * from its files: a change of its policy or hints must show up here on purpose.
 */
const NOTES_TOOLS: Record<string, InventoryRow> = {
  notes_list: {
    tool: 'notes_list',
    title: 'List notes',
    access: 'scopes: notes:read; organization required; callers: user machine',
    scopes: ['notes:read'],
    impliedBy: ['notes:admin'],
    roles: [],
    permissions: [],
    org: true,
    callers: ['user', 'machine'],
    rateLimit: 'none',
    liveToken: false,
    annotations: ['read-only'],
  },
  notes_create: {
    tool: 'notes_create',
    title: 'Create a note',
    access: 'scopes: notes:write; organization required',
    scopes: ['notes:write'],
    impliedBy: ['notes:admin'],
    roles: [],
    permissions: [],
    org: true,
    callers: ['user'],
    rateLimit: 'none',
    liveToken: false,
    annotations: [],
  },
  notes_delete: {
    tool: 'notes_delete',
    title: 'Delete a note',
    access: 'scopes: notes:write; organization required',
    scopes: ['notes:write'],
    impliedBy: ['notes:admin'],
    roles: [],
    permissions: [],
    org: true,
    callers: ['user'],
    rateLimit: '10 per 1 m (slow store: refuse)',
    liveToken: true,
    annotations: ['destructive', 'idempotent'],
  },
};

describe('the notes example in the inventory', () => {
  const rows = inventoryRows(registry);

  it.each(Object.keys(NOTES_TOOLS))('%s matches its declared policy and hints', (name) => {
    expect(rows.find((row) => row.tool === name)).toEqual(NOTES_TOOLS[name]);
  });

  it('its resource template and prompt need notes:read in an organization', () => {
    const notes = {
      access: 'scopes: notes:read; organization required',
      scopes: ['notes:read'],
      impliedBy: ['notes:admin'],
      roles: [],
      permissions: [],
      org: true,
      callers: ['user'],
      rateLimit: 'none',
      liveToken: false,
    };
    expect(primitiveRows(registry)).toEqual(
      expect.arrayContaining([
        { kind: 'resource', name: 'note', uri: 'notes://{note_id}', title: expect.any(String), ...notes },
        { kind: 'prompt', name: 'summarize_notes', title: expect.any(String), ...notes },
      ]),
    );
  });

  it('approves its reporting job, a machine, for notes:read only, against the local authorization server only', () => {
    expect(registry.approvals).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          clientId: 'client_local_report_job',
          kind: 'machine',
          scopes: ['notes:read'],
          localOnly: true,
        }),
      ]),
    );
    expect(registry.acceptsMachines).toBe(true);
  });

  it('notes:admin implies notes:read and notes:write', () => {
    expect(registry.scopeHierarchy).toMatchObject({ 'notes:admin': ['notes:read', 'notes:write'] });
  });
});

describe('the notes example in the registry', () => {
  it('serves its resource template and prompt, and notes_delete asks (a request-state key is needed)', () => {
    expect(registry.resources.map((r) => r.uri)).toContain('notes://{note_id}');
    expect(registry.prompts.map((p) => p.name)).toContain('summarize_notes');
    expect(registry.interactive).toBe(true);
    expect(registry.scopes()).toEqual(expect.arrayContaining(['notes:admin', 'notes:read', 'notes:write']));
  });
});
