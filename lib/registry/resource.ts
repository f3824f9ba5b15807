import { type ReadResourceResult, UriTemplate } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Principal } from '../auth/principal';
import type { RateLimit } from '../limits';
import type { Access, PrincipalFor } from '../policy';
import {
  checkAccess,
  checkGoverned,
  checkShape,
  failFor,
  FunctionSchema,
  NAME_HINT,
  nameOf,
  PRIMITIVE_NAME,
} from './checks';
import type { Ask, HandlerContext } from './context';

/** A completer: values for one template variable or prompt argument, from the caller's own data only. */
export type Completer<P extends Principal = Principal> = (
  value: string,
  context: HandlerContext<P> & { arguments: Readonly<Record<string, string>> },
) => readonly string[] | Promise<readonly string[]>;

/** A resource; `A`, its policy, types what `read` and the completers are given (`ResourceDefinition` holds any). */
export type ResourceDefinition<A extends Access = Access> = {
  kind: 'resource';
  /** Identifies the resource in listings and the audit trail. */
  name: string;
  /** A static URI (`config://app`) or an RFC 6570 template (`notes://{note_id}`). */
  uri: string;
  title: string;
  description: string;
  mimeType?: string;
  /** Who may read it. Required; evaluated before dispatch and again inside the wrapper. */
  access: A;
  /** May ask the user before `read` runs (see `Ask`); makes MCP_REQUEST_STATE_KEY required in production. */
  ask?: Ask<{ uri: URL; variables: Readonly<Record<string, string>> }, ReadResourceResult, PrincipalFor<A>>;
  /** Completion per template variable (completion/complete); only for callers who may read the resource. */
  complete?: Readonly<Record<string, Completer<PrincipalFor<A>>>>;
  /**
   * The contents, or undefined when there is nothing at this URI for this caller: that answer is
   * exactly the one an unknown resource gets, so another tenant's data is not even confirmed to exist.
   */
  read: (
    uri: URL,
    variables: Readonly<Record<string, string>>,
    context: HandlerContext<PrincipalFor<A>>,
  ) => ReadResourceResult | undefined | Promise<ReadResourceResult | undefined>;
  /** Calls per caller within a window, counted on every instance (docs/PRIMITIVES.md, "Rate limits and live tokens"). */
  rate?: RateLimit;
  /** Each call introspects the token at its issuer first, failing closed. */
  liveToken?: boolean;
};

/**
 * Declares a resource or a resource template: one file, its policy first. Checked when the registry
 * loads. The policy types the `principal` that `read` and the completers see, as in `defineTool`.
 *
 * @example
 * export default defineResource({
 *   name: 'note',
 *   uri: 'notes://{note_id}',
 *   access: { scopes: ['notes:read'], org: 'required' },
 *   title: 'A note',
 *   description: 'One note of your organization',
 *   read: async (uri, { note_id }, { principal }) => {
 *     const note = await findNote(principal.organizationId, note_id);
 *     return note && { contents: [{ uri: uri.href, mimeType: 'text/plain', text: note.text }] };
 *   },
 * });
 */
export function defineResource<const A extends Access>(
  definition: Omit<ResourceDefinition<A>, 'kind'>,
): ResourceDefinition {
  const resource: ResourceDefinition<A> = { ...definition, kind: 'resource' };
  // Held like any resource: the wrapper calls `read` and the completers only for a caller the policy admits.
  return resource as ResourceDefinition;
}

const ShapeSchema = z.object({
  kind: z.literal('resource'),
  name: z.string(),
  uri: z.string().min(1),
  title: z.string().min(1),
  description: z.string().min(1),
  mimeType: z.string().min(1).optional(),
  access: z.unknown(),
  ask: FunctionSchema.optional(),
  complete: z.record(z.string(), FunctionSchema).optional(),
  read: FunctionSchema,
});

export const isTemplate = (resource: ResourceDefinition): boolean => UriTemplate.isTemplate(resource.uri);

export function checkResource(resource: unknown, index: number): ResourceDefinition {
  const name = nameOf(resource, index);
  const fail = failFor('resource', name);
  checkShape(ShapeSchema, resource, fail);
  if (!PRIMITIVE_NAME.test(name)) fail(NAME_HINT);
  const definition = resource as ResourceDefinition;
  checkAccess(definition.access, fail);
  checkGoverned(definition, fail);
  let variables: string[] = [];
  if (/[{}]/.test(definition.uri)) {
    if (!UriTemplate.isTemplate(definition.uri)) fail(`invalid URI template "${definition.uri}"`);
    try {
      variables = new UriTemplate(definition.uri).variableNames;
    } catch {
      fail(`invalid URI template "${definition.uri}"`);
    }
  } else {
    // The SDK finds a static resource by the URL's serialization: any other spelling would never match.
    let parsed: URL | undefined;
    try {
      parsed = new URL(definition.uri);
    } catch {
      fail(`invalid URI "${definition.uri}"`);
    }
    if (parsed?.href !== definition.uri) fail(`URI "${definition.uri}" is not in its canonical form "${parsed?.href}"`);
  }
  for (const key of Object.keys(definition.complete ?? {})) {
    if (!variables.includes(key)) fail(`completion for "${key}", which is not a variable of "${definition.uri}"`);
  }
  return definition;
}
