import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { OrgPrincipal, Principal, UserPrincipal } from '@/lib/auth/principal';
import { type Access, admits, evaluate, type MembershipAnswer } from '@/lib/policy';
import { definePrompt, defineResource, defineTool, jsonResult } from '@/lib/registry';
import { accessArb, PERMISSIONS, ROLES, SCOPES } from '../helpers/policy-property';

/**
 * The policy types what a handler is given: the `expectTypeOf` lines below are checked by
 * `tsc --noEmit` (CI), not when the test runs. What makes those types true at run time is that
 * `evaluate`, which the wrapper runs before every handler, allows only callers the policy `admits`.
 */

const tool = { title: 't', description: 'd', input: z.object({}) };
const ok = () => jsonResult({});

describe('the policy types the handler context', () => {
  it('gives an organization-requiring policy a principal with organizationId: string', () => {
    defineTool({
      ...tool,
      name: 'org_scoped',
      access: { scopes: ['a:read'], org: 'required' },
      handler: (_input, { principal }) => {
        expectTypeOf(principal).toEqualTypeOf<OrgPrincipal>();
        expectTypeOf(principal.organizationId).toEqualTypeOf<string>();
        return ok();
      },
    });
    defineTool({
      ...tool,
      name: 'by_role',
      access: { roles: ['admin'] },
      ask: (_args, { principal }) => {
        expectTypeOf(principal).toEqualTypeOf<OrgPrincipal>();
        return undefined;
      },
      handler: (_input, { principal }) => {
        expectTypeOf(principal).toEqualTypeOf<OrgPrincipal>();
        return ok();
      },
    });
    defineTool({
      ...tool,
      name: 'by_permission',
      access: { permissions: ['x:view'] },
      handler: (_input, { principal }) => {
        expectTypeOf(principal.organizationId).toEqualTypeOf<string>();
        return ok();
      },
    });
    defineResource({
      name: 'doc',
      uri: 'docs://{id}',
      title: 't',
      description: 'd',
      access: { scopes: ['a:read'], org: 'required' },
      complete: {
        id: (_value, { principal }) => {
          expectTypeOf(principal).toEqualTypeOf<OrgPrincipal>();
          return [];
        },
      },
      read: (_uri, _variables, { principal }) => {
        expectTypeOf(principal).toEqualTypeOf<OrgPrincipal>();
        return undefined;
      },
    });
    definePrompt({
      name: 'summary',
      title: 't',
      description: 'd',
      access: { org: 'required' },
      arguments: z.object({ id: z.string() }),
      complete: {
        id: (_value, { principal }) => {
          expectTypeOf(principal).toEqualTypeOf<OrgPrincipal>();
          return [];
        },
      },
      handler: (_args, { principal }) => {
        expectTypeOf(principal).toEqualTypeOf<OrgPrincipal>();
        return { messages: [] };
      },
    });
  });

  it('gives any other private policy a signed-in user, and a public one any principal', () => {
    defineTool({
      ...tool,
      name: 'signed_in',
      access: 'signed-in',
      handler: (_input, { principal }) => {
        expectTypeOf(principal).toEqualTypeOf<UserPrincipal>();
        expectTypeOf(principal.organizationId).toEqualTypeOf<string | undefined>();
        return ok();
      },
    });
    defineTool({
      ...tool,
      name: 'scoped',
      // Empty roles require nothing of the organization (evaluate), so the type does not either.
      access: { scopes: ['a:read'], roles: [] },
      handler: (_input, { principal }) => {
        expectTypeOf(principal).toEqualTypeOf<UserPrincipal>();
        return ok();
      },
    });
    defineTool({
      ...tool,
      name: 'open',
      access: 'public',
      handler: (_input, { principal }) => {
        expectTypeOf(principal).toEqualTypeOf<Principal>();
        return ok();
      },
    });
    // A policy known only as `Access` (not written in place) promises nothing more than a principal.
    const unknownPolicy = ((): Access => 'signed-in')();
    defineTool({
      ...tool,
      name: 'unknown_policy',
      access: unknownPolicy,
      handler: (_input, { principal }) => {
        expectTypeOf(principal).toEqualTypeOf<Principal>();
        return ok();
      },
    });
    expect(unknownPolicy).toBe('signed-in');
  });
});

const membershipArb: fc.Arbitrary<MembershipAnswer | undefined> = fc.oneof(
  fc.constantFrom('unavailable' as const, 'not_configured' as const, undefined),
  fc.record({ roles: fc.subarray([...ROLES]), permissions: fc.subarray([...PERMISSIONS]) }),
);

const principalArb: fc.Arbitrary<Principal> = fc.oneof(
  fc.constant({ kind: 'anonymous' as const }),
  fc.record(
    {
      kind: fc.constant('user' as const),
      callerKind: fc.constantFrom('user' as const, 'machine' as const, 'agent' as const),
      actors: fc.constant([] as string[]),
      subject: fc.constant('user_prop'),
      organizationId: fc.constantFrom('org_acme', ''),
      scopes: fc.subarray([...SCOPES]),
      issuedAt: fc.constant(0),
      expiresAt: fc.constant(1),
      roles: fc.subarray([...ROLES]),
      permissions: fc.subarray([...PERMISSIONS]),
    },
    { requiredKeys: ['kind', 'callerKind', 'actors', 'subject', 'scopes', 'issuedAt', 'expiresAt'] },
  ),
);

describe('admits', () => {
  it('holds for every caller evaluate allows, so the handler types are true at run time', () => {
    fc.assert(
      fc.property(accessArb, principalArb, membershipArb, (access, principal, membership) => {
        if (evaluate(access, principal, membership).effect === 'allow') expect(admits(access, principal)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
