import { z } from 'zod';
import { CALLER_KINDS, CallerKindSchema } from '../auth/caller-kind';
import { RateLimitSchema } from '../limits';
import { AccessSchema, type Access } from '../policy';
import { OFFLINE_ACCESS } from '../scope-hierarchy';

/** Thrown when the registry loads with a misdeclared primitive: the server does not start. */
export class RegistryError extends Error {
  override name = 'RegistryError';
}

/** The failure of one definition, named so the message says which file to fix. */
export type Fail = (why: string) => never;

export function failFor(kind: string, name: string): Fail {
  return (why) => {
    throw new RegistryError(`${kind} "${name}": ${why}`);
  };
}

export function nameOf(definition: unknown, index: number, key = 'name'): string {
  return typeof definition === 'object' && definition !== null && key in definition
    ? String((definition as Record<string, unknown>)[key])
    : `#${index}`;
}

export function checkShape<T>(schema: z.ZodType<T>, definition: unknown, fail: Fail): T {
  const shape = schema.safeParse(definition);
  if (!shape.success)
    fail(shape.error.issues.map((i) => `${i.path.join('.') || 'definition'}: ${i.message}`).join('; '));
  return shape.data as T;
}

/** The same refusals for every primitive: no policy, unknown key, invalid value, a private policy requiring nothing. */
export function checkAccess(access: unknown, fail: Fail): Access {
  if (access === undefined)
    fail('has no access policy; declare access: "public", "signed-in" or { scopes, permissions, roles, org, callers }');
  const parsed = AccessSchema.safeParse(access);
  const callers = typeof access === 'object' && access !== null ? (access as { callers?: unknown }).callers : undefined;
  if (!parsed.success && callers !== undefined && !z.array(CallerKindSchema).min(1).safeParse(callers).success)
    fail(`callers: list one or more of ${CALLER_KINDS.join(', ')}`);
  if (!parsed.success) {
    const keys = typeof access === 'object' && access !== null ? Object.keys(access) : [];
    const unknown = keys.filter((k) => !['scopes', 'permissions', 'roles', 'org', 'callers'].includes(k));
    fail(
      unknown.length
        ? `unknown policy key(s): ${unknown.join(', ')}`
        : `invalid access policy: ${parsed.error.issues[0]?.message ?? 'unrecognized'}`,
    );
  }
  const policy = parsed.data as Access;
  if (typeof policy === 'object') {
    const requiresSomething =
      (policy.scopes?.length ?? 0) + (policy.permissions?.length ?? 0) + (policy.roles?.length ?? 0) > 0 ||
      policy.org === 'required' ||
      policy.callers !== undefined;
    if (!requiresSomething) fail('a non-public policy must require something; use "signed-in" or "public" explicitly');
    const lookedUp = (policy.roles?.length ?? 0) + (policy.permissions?.length ?? 0) > 0;
    // A machine's token names an application, never a member of an organization: no role could ever match.
    if (lookedUp && policy.callers?.includes('machine'))
      fail('a role or permission policy cannot admit machines: their tokens carry no organization membership');
    if (policy.callers && new Set(policy.callers).size !== policy.callers.length) fail('callers lists a kind twice');
    if (policy.scopes?.includes(OFFLINE_ACCESS))
      fail(`"${OFFLINE_ACCESS}" requests a refresh token and grants nothing here; it cannot be required`);
  }
  return policy;
}

// MCP names: 1-128 of [A-Za-z0-9_.-]; we keep them short and lower-case for readable policies.
export const PRIMITIVE_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
export const NAME_HINT = 'invalid name: use 1-64 characters of a-z, 0-9, _ and -, starting with a letter';

export const FunctionSchema = z.custom<(...args: unknown[]) => unknown>(
  (v) => typeof v === 'function',
  'must be a function',
);

/**
 * `rate` and `liveToken`, declared beside `access`: a rate limit must be well formed, and a live
 * token makes no sense where there may be no token at all.
 */
export function checkGoverned(definition: { access: unknown; rate?: unknown; liveToken?: unknown }, fail: Fail): void {
  if (definition.rate !== undefined) {
    const rate = RateLimitSchema.safeParse(definition.rate);
    if (!rate.success)
      fail(`rate: ${rate.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ')}`);
  }
  if (definition.liveToken !== undefined && typeof definition.liveToken !== 'boolean')
    fail('liveToken must be true or false');
  if (definition.liveToken === true && definition.access === 'public')
    fail('liveToken needs a token: a public primitive may be called without one');
}
