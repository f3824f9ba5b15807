import type { GetPromptResult } from '@modelcontextprotocol/server';
import { z } from 'zod';
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
import type { Completer } from './resource';

/** A prompt; `A`, its policy, types what the handler and completers are given (`PromptDefinition<Args>` holds any). */
export type PromptDefinition<Args extends z.ZodObject = z.ZodObject, A extends Access = Access> = {
  kind: 'prompt';
  name: string;
  title: string;
  description: string;
  /** Who may get it. Required; evaluated before dispatch and again inside the wrapper. */
  access: A;
  /** The prompt's arguments: string fields (MCP prompt arguments are strings). */
  arguments?: Args;
  /** Argument fields safe to copy into the audit record; nothing else of the arguments is logged. */
  audit?: ReadonlyArray<keyof z.infer<Args> & string>;
  /** Completion per argument (completion/complete); only for callers who may get the prompt. */
  complete?: Readonly<Partial<Record<keyof z.infer<Args> & string, Completer<PrincipalFor<A>>>>>;
  /** May ask the user before the handler runs (see `Ask`); makes MCP_REQUEST_STATE_KEY required in production. */
  ask?: Ask<z.infer<Args>, GetPromptResult, PrincipalFor<A>>;
  handler: (
    args: z.infer<Args>,
    context: HandlerContext<PrincipalFor<A>>,
  ) => GetPromptResult | Promise<GetPromptResult>;
  /** Calls per caller within a window, counted on every instance (docs/PRIMITIVES.md, "Rate limits and live tokens"). */
  rate?: RateLimit;
  /** Each call introspects the token at its issuer first, failing closed. */
  liveToken?: boolean;
};

/**
 * Declares a prompt: one file, its policy first. Checked when the registry loads. The policy types
 * the `principal` that the handler and the completers see, as in `defineTool`.
 *
 * @example
 * export default definePrompt({
 *   name: 'summarize_notes',
 *   access: { scopes: ['notes:read'], org: 'required' },
 *   title: 'Summarize notes',
 *   description: 'Ask the model to summarize a note',
 *   arguments: z.object({ note_id: z.string() }),
 *   complete: { note_id: (prefix, { principal }) => noteIdsStartingWith(principal.organizationId, prefix) },
 *   handler: async ({ note_id }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Summarize ${note_id}` } }] }),
 * });
 */
export function definePrompt<Args extends z.ZodObject, const A extends Access>(
  definition: Omit<PromptDefinition<Args, A>, 'kind'>,
): PromptDefinition<Args> {
  const prompt: PromptDefinition<Args, A> = { ...definition, kind: 'prompt' };
  // Held like any prompt: the wrapper calls the handler and the completers only for a caller the policy admits.
  return prompt as PromptDefinition<Args>;
}

const ShapeSchema = z.object({
  kind: z.literal('prompt'),
  name: z.string(),
  title: z.string().min(1),
  description: z.string().min(1),
  access: z.unknown(),
  arguments: z.instanceof(z.ZodObject, { message: 'arguments must be a z.object(...)' }).optional(),
  audit: z.array(z.string()).optional(),
  complete: z.record(z.string(), FunctionSchema).optional(),
  ask: FunctionSchema.optional(),
  handler: FunctionSchema,
});

export function checkPrompt(prompt: unknown, index: number): PromptDefinition {
  const name = nameOf(prompt, index);
  const fail = failFor('prompt', name);
  checkShape(ShapeSchema, prompt, fail);
  if (!PRIMITIVE_NAME.test(name)) fail(NAME_HINT);
  const definition = prompt as PromptDefinition;
  checkAccess(definition.access, fail);
  checkGoverned(definition, fail);
  const keys = Object.keys(definition.arguments?.shape ?? {});
  for (const field of definition.audit ?? []) {
    if (!keys.includes(field)) fail(`audit field "${field}" is not an argument`);
  }
  for (const field of Object.keys(definition.complete ?? {})) {
    if (!keys.includes(field)) fail(`completion for "${field}", which is not an argument`);
  }
  return definition;
}
