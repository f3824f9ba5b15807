import type { JsonRpcId } from '../http/answers';

/**
 * The JSON-RPC message of one POST, read once. Every later stage (wire checks, batch refusal, the
 * gate, the membership planner, the audit) reads this envelope instead of probing the parsed body
 * again with its own casts.
 */

/** The methods whose request names one primitive, and so gets a policy decision and an audit record. */
const CALL_METHODS = ['tools/call', 'resources/read', 'prompts/get', 'completion/complete'] as const;
export type CallMethod = (typeof CALL_METHODS)[number];

/**
 * One call element of the body, whatever its shape: the audit owes each one a record, so the
 * malformed ones (no string name, arguments that are not an object) are kept and marked.
 */
export type Call = {
  method: CallMethod;
  id: string | number | null;
  /** No `id` member: a notification, which the SDK never runs. */
  notification: boolean;
  /** The tool or prompt name, the resource URI, or what a completion's reference names. */
  name?: string;
  /** completion/complete: whether its reference names a prompt or a resource template. */
  ref?: 'prompt' | 'resource';
  /** tools/call and prompts/get arguments; completion/complete's `argument`. */
  arguments: unknown;
  /** `params` has the shape the SDK's request schema accepts, so the SDK will hand it to a handler. */
  wellFormed: boolean;
  /** What a request state is bound to: the params without `_meta`, `inputResponses` and `requestState`. */
  boundParams: Readonly<Record<string, unknown>>;
  /** `requestState` is present and not a string: the SDK refuses it before any hook sees it. */
  stateMalformed: boolean;
};

export type Envelope = {
  /** The parsed body; undefined when it is not JSON (the SDK answers the parse error). */
  readonly message: unknown;
  readonly batch: boolean;
  /** How many messages it holds (the batch's length; 1 otherwise). */
  readonly size: number;
  /** The id of a single request, else null. */
  readonly id: JsonRpcId;
  /** The method of a single message (at most 64 characters), 'batch' for an array. */
  readonly method?: string;
  /** Every method named in the message. */
  readonly methods: ReadonlySet<string>;
  readonly calls: readonly Call[];
  /** The revision the client names: its MCP-Protocol-Version header, trimmed as the SDK trims it; null without one. */
  readonly revision: string | null;
};

/** What the audit keeps of a method name a caller chose. */
const MAX_METHOD_CHARS = 64;
const UNBOUND = new Set(['_meta', 'inputResponses', 'requestState']);

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const stringsOnly = (value: unknown) =>
  value === undefined || (isPlainObject(value) && Object.values(value).every((v) => typeof v === 'string'));

function callOf(item: Record<string, unknown>, method: CallMethod): Call {
  const params = isPlainObject(item.params) ? item.params : undefined;
  const id = typeof item.id === 'string' || typeof item.id === 'number' ? item.id : null;
  const boundParams = Object.fromEntries(Object.entries(params ?? {}).filter(([key]) => !UNBOUND.has(key)));
  const stateMalformed = params?.requestState !== undefined && typeof params.requestState !== 'string';
  const base = { method, id, notification: !('id' in item), boundParams, stateMalformed };
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  switch (method) {
    case 'tools/call': {
      const name = text(params?.name);
      const args = params?.arguments;
      return {
        ...base,
        name,
        arguments: args,
        wellFormed: name !== undefined && (args === undefined || isPlainObject(args)),
      };
    }
    case 'prompts/get': {
      const name = text(params?.name);
      const args = params?.arguments;
      return { ...base, name, arguments: args, wellFormed: name !== undefined && stringsOnly(args) };
    }
    case 'resources/read': {
      const name = text(params?.uri);
      return { ...base, name, arguments: undefined, wellFormed: name !== undefined };
    }
    case 'completion/complete': {
      const ref = isPlainObject(params?.ref) ? params.ref : undefined;
      const kind = ref?.type === 'ref/prompt' ? 'prompt' : ref?.type === 'ref/resource' ? 'resource' : undefined;
      const name = kind === 'prompt' ? text(ref?.name) : kind === 'resource' ? text(ref?.uri) : undefined;
      const argument = isPlainObject(params?.argument) ? params.argument : undefined;
      const wellFormed = name !== undefined && typeof argument?.name === 'string' && typeof argument.value === 'string';
      return { ...base, name, ref: kind, arguments: argument, wellFormed };
    }
  }
}

export function parseEnvelope(message: unknown, protocolVersionHeader: string | null): Envelope {
  const batch = Array.isArray(message);
  const items: unknown[] = batch ? message : [message];
  const methods = new Set<string>();
  const calls: Call[] = [];
  for (const item of items) {
    if (!isPlainObject(item) || typeof item.method !== 'string') continue;
    methods.add(item.method);
    if ((CALL_METHODS as readonly string[]).includes(item.method)) calls.push(callOf(item, item.method as CallMethod));
  }
  const single = !batch && isPlainObject(message) ? message : undefined;
  const id = typeof single?.id === 'string' || typeof single?.id === 'number' ? single.id : null;
  const method = batch
    ? 'batch'
    : typeof single?.method === 'string'
      ? single.method.slice(0, MAX_METHOD_CHARS)
      : undefined;
  return {
    message,
    batch,
    size: items.length,
    id,
    method,
    methods,
    calls,
    // The SDK trims optional whitespace around the header value before comparing it; so do we.
    revision: protocolVersionHeader === null ? null : protocolVersionHeader.trim(),
  };
}
