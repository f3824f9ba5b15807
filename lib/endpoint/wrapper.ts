import {
  CLIENT_CAPABILITIES_META_KEY,
  type ClientCapabilities,
  type CallToolResult,
  type CompleteResult,
  type GetPromptResult,
  type InputRequiredResult,
  inputRequired,
  isInputRequiredResult,
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
  type ReadResourceResult,
  ResourceNotFoundError,
  ResourceTemplate,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { audit, type AuditSink } from '../audit/log';
import { callerFields, type AuditRecord, type Outcome } from '../audit/record';
import { describeAccess, evaluate, type Access } from '../policy';
import { toolError } from '../registry/tool';
import type { ScopeHierarchy } from '../scope-hierarchy';
import type {
  Ask,
  Completer,
  HandlerContext,
  InputContext,
  PromptDefinition,
  ResourceDefinition,
  ToolDefinition,
} from '../registry';
import { isTemplate } from '../registry/resource';
import { auditKey } from './call-records';
import { listedInput } from './listing';
import { callerOf, type CallerContext } from './caller';
import type { RequestStateHooks } from './request-state';

/**
 * The wrapper around every handler: the authoritative policy re-check (the gate already ran, but a
 * handler never trusts that it did), the optional ask-first step (multi round-trip input), and
 * exactly one audit record per run with the caller's identity.
 */

type Base = Omit<AuditRecord, 'time' | 'decision' | 'reason' | 'status' | 'outcome' | 'durationMs'>;

/** What every wrapped handler of one cached server shares. */
export type WrapOptions = { hierarchy: ScopeHierarchy; requestState?: RequestStateHooks; auditLine?: AuditSink };

type Run<T> = {
  ctx: ServerContext;
  wrap: WrapOptions;
  key: string;
  base: (caller: CallerContext) => Base;
  access: Access;
  /** The answer when the wrapper refuses or the request has ended. */
  refused: (why: 'ended' | 'denied') => T;
  /** The answer when the handler throws: fixed, no stack or path. */
  failed: () => T;
  run: (context: HandlerContext, caller: CallerContext) => Promise<{ result: T; outcome: Outcome }>;
};

async function audited<T>({ ctx, wrap, key, base, access, refused, failed, run }: Run<T>): Promise<T> {
  const started = performance.now();
  const caller = callerOf(ctx.http?.authInfo);
  // Its request was already settled (the client left, the call was recorded as not run): never run it now.
  if (caller.begin && !caller.begin(key)) return refused('ended');
  const record = base(caller);
  const write = (fields: Pick<AuditRecord, 'decision' | 'reason' | 'outcome'>) =>
    // A caller no endpoint minted has no trail: its record is a line alone.
    (caller.write ?? ((unminted) => audit(unminted, wrap.auditLine)))({
      ...record,
      ...fields,
      status: 200,
      durationMs: Math.round(performance.now() - started),
    });
  // The authority: nothing runs unless the policy allows this caller, and an allowed caller is one
  // the policy `admits`, which is what lets a handler rely on its policy-typed principal.
  const decision = evaluate(access, caller.principal, caller.membership, wrap.hierarchy);
  if (decision.effect !== 'allow') {
    write({ decision: 'deny', reason: `wrapper:${decision.effect}`, outcome: 'not_run' });
    return refused('denied');
  }
  let outcome: Outcome;
  let result: T;
  try {
    ({ result, outcome } = await run(handlerContext(ctx, caller), caller));
  } catch (error) {
    if (error instanceof ResourceNotFoundError) {
      write({ decision: 'allow', outcome: 'not_found' });
      throw error;
    }
    // The error stays server-side; the caller gets a fixed message with no stack or path.
    write({ decision: 'allow', outcome: 'exception' });
    return failed();
  }
  write({ decision: 'allow', outcome });
  return result;
}

/** What a handler is given: the caller, lookups, the abort signal, and progress and log on this call's stream. */
function handlerContext(ctx: ServerContext, caller: CallerContext): HandlerContext {
  const progressToken = ctx.mcpReq._meta?.progressToken;
  return {
    principal: caller.principal,
    directory: caller.lookup,
    signal: ctx.mcpReq.signal,
    ...(progressToken !== undefined && {
      progress: (progress: number, total?: number, message?: string) =>
        ctx.mcpReq.notify({
          method: 'notifications/progress',
          params: { progressToken, progress, ...(total !== undefined && { total }), ...(message && { message }) },
        }),
    }),
    log: (level, data) => ctx.mcpReq.log(level, data),
  };
}

/** What the client declared on this 2026-07-28 request; nothing on the 2025 wire (no envelope). */
function declared(ctx: ServerContext): Pick<InputContext, 'canElicit' | 'canSample' | 'canListRoots'> {
  const envelope: Partial<Record<string, unknown>> | undefined = ctx.mcpReq.envelope;
  const capabilities = envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
  const elicitation = capabilities?.elicitation;
  return {
    // `elicitation: {}` means form mode (the revision's backwards-compatible default).
    canElicit: elicitation !== undefined && (Object.keys(elicitation).length === 0 || elicitation.form !== undefined),
    canSample: capabilities?.sampling !== undefined,
    canListRoots: capabilities?.roots !== undefined,
  };
}

function inputContext(ctx: ServerContext, hooks: RequestStateHooks | undefined): InputContext {
  return {
    ...declared(ctx),
    responses: ctx.mcpReq.inputResponses,
    // Only what the verify hook decoded; without hooks nothing counts as state (fail closed).
    state: hooks ? ctx.mcpReq.requestState() : undefined,
    async ask(requests, state) {
      if (!hooks) throw new Error('no request-state codec configured');
      const requestState = await hooks.mint(state, ctx);
      return inputRequired({
        ...(Object.keys(requests).length > 0 && { inputRequests: requests }),
        requestState,
      });
    },
  };
}

/** Runs the definition's ask step, if any: a result (or input request) it answers ends the call there. */
async function askFirst<A, Final>(
  ask: Ask<A, Final> | undefined,
  args: A,
  context: HandlerContext,
  ctx: ServerContext,
  hooks: RequestStateHooks | undefined,
): Promise<Final | InputRequiredResult | undefined> {
  if (!ask) return undefined;
  const input = inputContext(ctx, hooks);
  // The handler sees the same answers and state the ask step judged.
  context.input = input;
  return ask(args, { ...context, input });
}

function auditedArguments(fields: readonly string[] | undefined, args: unknown): Record<string, unknown> | undefined {
  if (!fields?.length || typeof args !== 'object' || args === null) return undefined;
  const values = args as Record<string, unknown>;
  return Object.fromEntries(fields.filter((k) => k in values).map((k) => [k, values[k]]));
}

const recordBase =
  (
    type: AuditRecord['type'],
    method: string,
    target: Partial<AuditRecord>,
    access: Access,
    args?: Partial<AuditRecord>,
  ) =>
  (caller: CallerContext): Base => ({
    type,
    requestId: caller.requestId,
    method,
    ...target,
    policy: describeAccess(access),
    ...callerFields(caller.principal),
    ...args,
  });

const finalOutcome = (result: { isError?: boolean } | InputRequiredResult): Outcome =>
  isInputRequiredResult(result) ? 'input_required' : result.isError ? 'tool_error' : 'ok';

export function registerTool(server: McpServer, tool: ToolDefinition, wrap: WrapOptions): void {
  const hooks = wrap.requestState;
  server.registerTool(
    tool.name,
    { title: tool.title, description: tool.description, inputSchema: listedInput(tool), annotations: tool.annotations },
    (args: Record<string, unknown>, ctx) =>
      audited<CallToolResult | InputRequiredResult>({
        ctx,
        wrap,
        key: auditKey('tools/call', tool.name),
        base: (caller) => ({
          type: 'tool_call',
          requestId: caller.requestId,
          method: 'tools/call',
          tool: tool.name,
          policy: describeAccess(tool.access),
          ...callerFields(caller.principal),
          arguments: auditedArguments(tool.audit, args),
        }),
        access: tool.access,
        refused: (why) => toolError(why === 'ended' ? 'The request has ended' : 'Not authorized to call this tool'),
        failed: () => toolError('The tool failed'),
        run: async (context) => {
          const asked = await askFirst(tool.ask, args, context, ctx, hooks);
          const result = asked ?? (await tool.handler(args, context));
          return { result, outcome: finalOutcome(result) };
        },
      }),
  );
}

export function registerResource(server: McpServer, resource: ResourceDefinition, wrap: WrapOptions): void {
  const hooks = wrap.requestState;
  const metadata = { title: resource.title, description: resource.description, mimeType: resource.mimeType };
  const read = (uri: URL, variables: Record<string, string>, ctx: ServerContext) =>
    audited<ReadResourceResult | InputRequiredResult>({
      ctx,
      wrap,
      key: auditKey('resources/read', resource.name),
      base: recordBase('resource_read', 'resources/read', { resource: resource.name }, resource.access),
      access: resource.access,
      // Refused here, it answers exactly as an unknown resource.
      refused: () => {
        throw new ResourceNotFoundError(uri.href);
      },
      failed: () => {
        throw new ProtocolError(ProtocolErrorCode.InternalError, 'The resource failed');
      },
      run: async (context) => {
        const asked = await askFirst(resource.ask, { uri, variables }, context, ctx, hooks);
        if (asked) return { result: asked, outcome: isInputRequiredResult(asked) ? 'input_required' : 'ok' };
        const result = await resource.read(uri, variables, context);
        if (!result) throw new ResourceNotFoundError(uri.href);
        return { result, outcome: 'ok' };
      },
    });
  if (isTemplate(resource)) {
    const template = new ResourceTemplate(resource.uri, { list: undefined });
    server.registerResource(resource.name, template, metadata, (uri, variables, ctx) =>
      read(uri, flat(variables), ctx),
    );
  } else {
    server.registerResource(resource.name, resource.uri, metadata, (uri, ctx) => read(uri, {}, ctx));
  }
}

const flat = (variables: Record<string, string | string[]>): Record<string, string> =>
  Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]));

export function registerPrompt(server: McpServer, prompt: PromptDefinition, wrap: WrapOptions): void {
  const hooks = wrap.requestState;
  const get = (args: Record<string, unknown>, ctx: ServerContext) =>
    audited<GetPromptResult | InputRequiredResult>({
      ctx,
      wrap,
      key: auditKey('prompts/get', prompt.name),
      base: recordBase('prompt_get', 'prompts/get', { prompt: prompt.name }, prompt.access, {
        arguments: auditedArguments(prompt.audit, args),
      }),
      access: prompt.access,
      // Refused here, it answers exactly as an unknown prompt does in the SDK.
      refused: () => {
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Prompt ${prompt.name} not found`);
      },
      failed: () => {
        throw new ProtocolError(ProtocolErrorCode.InternalError, 'The prompt failed');
      },
      run: async (context) => {
        const asked = await askFirst(prompt.ask, args, context, ctx, hooks);
        const result = asked ?? (await prompt.handler(args, context));
        return { result, outcome: isInputRequiredResult(result) ? 'input_required' : 'ok' };
      },
    });
  const config = { title: prompt.title, description: prompt.description };
  if (prompt.arguments) {
    server.registerPrompt(prompt.name, { ...config, argsSchema: prompt.arguments }, (args, ctx) =>
      get(args as Record<string, unknown>, ctx),
    );
  } else {
    server.registerPrompt(prompt.name, config, (ctx) => get({}, ctx));
  }
}

const MAX_COMPLETIONS = 100;

/**
 * completion/complete, answered here rather than by the SDK's completable() (whose callbacks get
 * no request context): only for the primitives this caller's server registered, re-checked, and
 * with the caller passed to the completer so it suggests from the caller's own data only.
 */
export function registerCompletion(
  server: McpServer,
  served: { resources: readonly ResourceDefinition[]; prompts: readonly PromptDefinition[] },
  wrap: WrapOptions,
): void {
  server.server.registerCapabilities({ completions: {} });
  server.server.setRequestHandler('completion/complete', async (request, ctx) => {
    const { ref, argument } = request.params;
    const target =
      ref.type === 'ref/prompt'
        ? served.prompts.find((p) => p.name === ref.name)
        : served.resources.find((r) => r.uri === ref.uri);
    if (!target) {
      // The SDK's own answers for an unknown reference: hidden ones answer the same.
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        ref.type === 'ref/prompt' ? `Prompt ${ref.name} not found` : `Resource template ${ref.uri} not found`,
      );
    }
    const kind = target.kind;
    return audited<CompleteResult>({
      ctx,
      wrap,
      key: auditKey('completion/complete', target.name),
      base: recordBase('completion', 'completion/complete', { [kind]: target.name }, target.access),
      access: target.access,
      refused: () => {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          ref.type === 'ref/prompt' ? `Prompt ${ref.name} not found` : `Resource template ${ref.uri} not found`,
        );
      },
      failed: () => {
        throw new ProtocolError(ProtocolErrorCode.InternalError, 'Completion failed');
      },
      run: async (context) => {
        const completers: Readonly<Record<string, Completer | undefined>> = target.complete ?? {};
        const completer = Object.hasOwn(completers, argument.name) ? completers[argument.name] : undefined;
        if (!completer) return { result: { completion: { values: [], hasMore: false } }, outcome: 'ok' };
        const values = [
          ...(await completer(argument.value, { ...context, arguments: request.params.context?.arguments ?? {} })),
        ];
        return {
          result: {
            completion: {
              values: values.slice(0, MAX_COMPLETIONS),
              total: values.length,
              hasMore: values.length > MAX_COMPLETIONS,
            },
          },
          outcome: 'ok',
        };
      },
    });
  });
}
