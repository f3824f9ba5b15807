import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Access } from '@/lib/policy';
import { type Approval, approvalRefusal } from '@/lib/auth/approvals';
import type { CallerKind } from '@/lib/auth/caller-kind';
import type { Principal } from '@/lib/auth/principal';
import { approvalRows, approvalsMarkdown, expiringApprovals } from '@/lib/inventory';
import { createRegistry, defineTool, jsonResult, RegistryError } from '@/lib/registry';

/**
 * Client approvals (lib/auth/approvals.ts): the decision for every caller kind and approval state,
 * the refusals when the approvals file loads, and the inventory's table and CI gate.
 */
const NOW = Date.parse('2026-06-15T12:00:00Z');

const approval = (overrides: Partial<Approval> = {}): Approval => ({
  clientId: 'client_job',
  kind: 'machine',
  owner: 'data team',
  purpose: 'nightly report',
  scopes: ['docs:read'],
  expires: '2026-07-01',
  ...overrides,
});

function caller(callerKind: CallerKind, clientId: string, scopes: string[] = ['docs:read']): Principal {
  return {
    kind: 'user',
    callerKind,
    actors: [],
    subject: callerKind === 'machine' ? clientId : 'user_alice',
    clientId,
    scopes,
    issuedAt: NOW / 1000,
    expiresAt: NOW / 1000 + 300,
  };
}

type Listing = { allowedClientIds?: string[]; localIssuer: boolean };
const NO_LIST: Listing = { allowedClientIds: undefined, localIssuer: false };
const reasonOf = (...args: Parameters<typeof approvalRefusal>) => approvalRefusal(...args)?.reason;

describe('approvalRefusal', () => {
  const cases: Array<[string, Principal, Approval[], Listing, string | undefined]> = [
    ['an approved machine', caller('machine', 'client_job'), [approval()], NO_LIST, undefined],
    ['an unlisted machine', caller('machine', 'client_other'), [approval()], NO_LIST, 'client_not_allowed'],
    ['a machine with no approvals at all', caller('machine', 'client_job'), [], NO_LIST, 'client_not_allowed'],
    [
      'a machine listed only in ALLOWED_CLIENT_IDS',
      caller('machine', 'client_job'),
      [],
      { allowedClientIds: ['client_job'], localIssuer: false },
      'client_not_allowed',
    ],
    [
      'a machine on its expiry day',
      caller('machine', 'client_job'),
      [approval({ expires: '2026-06-15' })],
      NO_LIST,
      'client_approval_expired',
    ],
    [
      'a machine the day before',
      caller('machine', 'client_job'),
      [approval({ expires: '2026-06-16' })],
      NO_LIST,
      undefined,
    ],
    ['a person on a machine approval', caller('user', 'client_job'), [approval()], NO_LIST, 'client_kind_mismatch'],
    [
      'a machine on an interactive approval',
      caller('machine', 'client_app'),
      [approval({ clientId: 'client_app', kind: 'interactive' })],
      NO_LIST,
      'client_kind_mismatch',
    ],
    [
      'a machine past its scope ceiling',
      caller('machine', 'client_job', ['docs:read', 'docs:write']),
      [approval()],
      NO_LIST,
      'client_scope_ceiling',
    ],
    [
      'identity scopes never count against the ceiling',
      caller('machine', 'client_job', ['openid', 'docs:read', 'offline_access']),
      [approval()],
      NO_LIST,
      undefined,
    ],
    [
      'a local-only seed against a real issuer',
      caller('machine', 'client_job'),
      [approval({ localOnly: true })],
      NO_LIST,
      'client_not_allowed',
    ],
    [
      'a local-only seed against the local server',
      caller('machine', 'client_job'),
      [approval({ localOnly: true })],
      { allowedClientIds: undefined, localIssuer: true },
      undefined,
    ],
    ["a person's client with no list in use", caller('user', 'client_dcr_1'), [approval()], NO_LIST, undefined],
    [
      "a person's client once ALLOWED_CLIENT_IDS is set",
      caller('user', 'client_dcr_1'),
      [],
      { allowedClientIds: ['client_app'], localIssuer: false },
      'client_not_allowed',
    ],
    [
      "a person's client listed in ALLOWED_CLIENT_IDS",
      caller('user', 'client_app'),
      [approval()],
      { allowedClientIds: ['client_app'], localIssuer: false },
      undefined,
    ],
    [
      "a person's client once the file lists an interactive client",
      caller('user', 'client_dcr_1'),
      [approval({ clientId: 'client_app', kind: 'interactive' })],
      NO_LIST,
      'client_not_allowed',
    ],
    ['an agent must be listed', caller('agent', 'client_agents'), [approval()], NO_LIST, 'client_not_allowed'],
    [
      'an approved agent',
      caller('agent', 'client_agents'),
      [approval({ clientId: 'client_agents', kind: 'agent' })],
      NO_LIST,
      undefined,
    ],
    [
      'anonymous callers are not clients',
      { kind: 'anonymous' },
      [],
      { allowedClientIds: ['x'], localIssuer: false },
      undefined,
    ],
  ];
  it.each(cases)('%s', (_name, principal, approvals, config, expected) => {
    expect(reasonOf(principal, approvals, config, NOW)).toBe(expected);
  });

  it('answers 403 with a fixed message that names no client', () => {
    const refusal = approvalRefusal(
      caller('machine', 'client_job'),
      [approval({ expires: '2026-01-01' })],
      NO_LIST,
      NOW,
    );
    expect(refusal).toMatchObject({ status: 403, reason: 'client_approval_expired' });
    expect(refusal?.message).not.toContain('client_job');
  });
});

const tool = (callers?: CallerKind[], extra: Record<string, unknown> = { scopes: ['docs:read'] }) =>
  defineTool({
    name: 'report',
    title: 'Report',
    description: 'd',
    access: { ...extra, ...(callers ? { callers } : {}) } as Access,
    input: z.object({}),
    handler: () => jsonResult({}),
  });

describe('the registry refuses at load time', () => {
  it.each([
    ['a role policy open to machines', [tool(['user', 'machine'], { roles: ['admin'] })], /cannot admit machines/],
    ['a permission policy open to machines', [tool(['machine'], { permissions: ['x:y'] })], /cannot admit machines/],
    ['an empty callers list', [tool([])], /callers/],
    ['an unknown caller kind', [tool(['robot' as CallerKind])], /callers/],
    ['a kind listed twice', [tool(['machine', 'machine'])], /twice/],
  ])('%s', (_name, primitives, message) => {
    expect(() => createRegistry(primitives)).toThrow(RegistryError);
    expect(() => createRegistry(primitives)).toThrow(message);
  });

  it.each([
    ['a client id with a space', { clientId: 'https://a.example/a b.json' }, /visible ASCII/],
    ['a metadata-document id not in canonical form', { clientId: 'https://A.example/c.json' }, /canonical/],
    ['an unknown kind', { kind: 'robot' }, /kind/],
    ['no owner', { owner: ' ' }, /owner/],
    ['an expiry that is no date', { expires: '2026-02-30' }, /calendar date/],
    ['an expiry in another format', { expires: '15/06/2026' }, /YYYY-MM-DD/],
    ['a scope that is no scope token', { scopes: ['a b'] }, /scope/],
    ['an unknown field', { team: 'x' }, /team|Unrecognized/],
  ])('an approval with %s', (_name, overrides, message) => {
    const approvals = [{ ...approval(), ...overrides }];
    expect(() => createRegistry([tool(['machine'])], { approvals })).toThrow(message);
  });

  it('a client approved twice', () => {
    expect(() => createRegistry([tool(['machine'])], { approvals: [approval(), approval()] })).toThrow(/listed twice/);
  });

  it('accepts machines on a scope policy, and says so', () => {
    expect(createRegistry([tool(['user', 'machine'])]).acceptsMachines).toBe(true);
    expect(createRegistry([tool()]).acceptsMachines).toBe(false);
  });
});

describe('the inventory of approvals', () => {
  const approvals = [
    approval(),
    approval({ clientId: 'client_old', expires: '2026-06-01' }),
    approval({ clientId: 'client_seed', localOnly: true, expires: '2030-01-01' }),
  ];

  it('lists the approvals in force, then ALLOWED_CLIENT_IDS entries they do not list', () => {
    const rows = approvalRows(approvals, { allowedClientIds: ['client_app', 'client_job'], localIssuer: false });
    expect(rows.map((r) => [r.clientId, r.source])).toEqual([
      ['client_job', 'approvals'],
      ['client_old', 'approvals'],
      ['client_app', 'ALLOWED_CLIENT_IDS'],
    ]);
    const table = approvalsMarkdown(rows);
    expect(table).toContain('| client | kind | owner | purpose | scope ceiling | expires |');
    expect(table).toContain('| `client_job` | machine | data team | nightly report | docs:read | 2026-07-01 |');
    expect(table).toContain('| `client_app` | interactive | ALLOWED_CLIENT_IDS | - | none | never |');
  });

  it('flags what has ended or ends within the window, nothing else', () => {
    expect(expiringApprovals(approvals, NOW, 30).map((a) => a.clientId)).toEqual(['client_job', 'client_old']);
    expect(expiringApprovals(approvals, NOW, 10).map((a) => a.clientId)).toEqual(['client_old']);
  });
});
