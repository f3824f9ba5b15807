import type { InputRequests, InputRequiredResult, JSONValue, LoggingLevel } from '@modelcontextprotocol/server';
import type { DirectoryLookup } from '../directory/workos';
import type { Principal } from '../auth/principal';

/**
 * What every handler (tool, resource, prompt) is given. Never the token: a handler cannot leak
 * what it never sees. `P` is what the definition's policy guarantees (`PrincipalFor`).
 */
export type HandlerContext<P extends Principal = Principal> = {
  /** The verified caller, as the policy admitted it: signed in unless public, in an organization if required. */
  principal: P;
  /** WorkOS lookups (profile, organization members), fetched only when called; undefined when not configured. */
  directory?: DirectoryLookup;
  /** Aborts when the client disconnects or the request ends: long handlers should stop and return. */
  signal?: AbortSignal;
  /**
   * Reports progress on this call's response stream; present only when the client asked for
   * progress (a `progressToken` in the request's `_meta`).
   */
  progress?: (progress: number, total?: number, message?: string) => Promise<void>;
  /**
   * A log message on this call's response stream, sent only at or above the level the client set
   * (2026-07-28: `_meta` logLevel; none set, nothing sent). Never put secrets or tokens in `data`.
   */
  log?: (level: LoggingLevel, data: unknown) => Promise<void>;
  /** Multi round-trip input (2026-07-28); present only for definitions that declare `ask`. */
  input?: InputContext;
};

/**
 * The step before a handler that may ask the user: answers `input.ask(...)` to ask, a final result
 * to answer without running the handler (the user declined), or undefined to run the handler.
 */
export type Ask<Args, Final, P extends Principal = Principal> = (
  args: Args,
  context: HandlerContext<P> & { input: InputContext },
) => Final | InputRequiredResult | undefined | Promise<Final | InputRequiredResult | undefined>;

/**
 * Asking the user through the client (MRTR). The handler returns `await input.ask(...)`; the client
 * answers and sends the same request again with `responses`, and `state` as this handler sealed it.
 */
export type InputContext = {
  /**
   * What the client declared it can answer on this request (2026-07-28 `clientCapabilities`): form
   * elicitation, sampling, roots. Never true on the stateless 2025-11-25 path, where the server
   * cannot reach the client. Ask only for what is declared.
   */
  canElicit: boolean;
  canSample: boolean;
  canListRoots: boolean;
  /** The answers this retry carries, by the keys the handler asked with. Untrusted: read them through a schema. */
  responses?: Record<string, unknown>;
  /**
   * The state sealed on the previous round, verified for this caller, this primitive, these
   * parameters and its expiry (a retry failing any of them never reaches the handler). Undefined
   * on a first round.
   */
  state?: JSONValue;
  /** The input_required result: `requests` for the client, `state` sealed with the server's key. */
  ask(requests: InputRequests, state: JSONValue): Promise<InputRequiredResult>;
};
