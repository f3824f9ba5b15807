import {
  context,
  createContextKey,
  type Link,
  type ProxyTracerProvider,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type TimeInput,
} from '@opentelemetry/api';
import type { AuditSink } from '../audit/log';
import type { AuditRecord } from '../audit/record';
import type { TrailObserver } from '../audit/trail';
import type { Principal } from '../auth/principal';
import {
  answerFailure,
  failureAttributes,
  type Failure,
  messageAttributes,
  type MessageFacts,
  messagesOf,
  principalAttributes,
  recordAttributes,
  recordFailure,
  spanName,
} from './span-attributes';
import { subjectHasher } from './subject-hash';
import { metaTraceContext } from './trace-context';

/**
 * One OpenTelemetry SERVER span per MCP message of a request, from the moment the request arrived
 * until its response was sent and its audit settled. Its parent is the trace context the client put
 * in `params._meta` (the ambient context, the request's own trace context, is linked), or the ambient context
 * when there is none. Its attributes come from the message, its audit records and its answer
 * (./span-attributes.ts says what is never on one).
 *
 * With no tracer provider registered (instrumentation.ts registers one only when traces have
 * somewhere to go) every span is a non-recording one and each method returns at once.
 */

const TRACER = 'edge-mcp-authkit';
const tracer = trace.getTracer(TRACER);
/** Where the SDK's answers are reported, in the context dispatch runs in (./answers.ts reads it). */
export const ANSWER_OBSERVER = createContextKey('edge-mcp-authkit: answer observer');
export type AnswerObserver = (message: unknown) => void;

/** A batch may hold up to 100 calls (2025-03-26); a refused batch of any length gets spans for its first 100 messages. */
const MAX_SPANS = 100;

/** `answered`: the failure is the answer's (the SDK's JSON-RPC answer, or our refusal), which a record's guess never replaces. */
type MessageSpan = { facts: MessageFacts; span: Span; record?: AuditRecord; failure?: Failure & { answered: boolean } };

export type RequestTrace = Required<TrailObserver> & {
  /** The request's audit line writer, teeing each record to its message's span. */
  observe(line: AuditSink): AuditSink;
  /** The body was parsed: one span per message, started when the request arrived. */
  messages(body: unknown, revisionHeader: string | null, requestId: string): void;
  /** Authenticated: the caller's kind, client and subject hash, for spans no record describes (at close). */
  caller(principal: Principal): void;
  /** Runs dispatch with the message's span active (a single message) and the SDK's answers observed. */
  run<T>(dispatch: () => Promise<T>): Promise<T>;
};

export function traceRequest(subjectKey: string | undefined): RequestTrace {
  const arrived: TimeInput = Date.now();
  const ambient = context.active();
  let spans: MessageSpan[] = [];
  let hash: ((subject: string) => string) | undefined;
  let caller: Principal | undefined;

  const fail = (message: MessageSpan, failure: Failure | undefined, answered: boolean) => {
    if (!failure || message.failure?.answered || (message.failure && !answered)) return;
    message.failure = { ...failure, answered };
    message.span.setAttributes(failureAttributes(failure));
    message.span.setStatus({ code: SpanStatusCode.ERROR });
  };
  /** A call's record goes to its message (matched by method, then by target in a batch); a request's to all. */
  const record = (entry: AuditRecord) => {
    const targets =
      entry.type === 'request_rejected' || spans.length === 1
        ? spans
        : [
            spans.find(
              (s) => !s.record && s.facts.method === entry.method && s.facts.name === (entry.tool ?? entry.prompt),
            ) ?? spans.find((s) => !s.record && s.facts.method === entry.method),
          ];
    for (const message of targets) {
      if (!message) continue;
      message.record = entry;
      message.span.setAttributes(recordAttributes(entry, entry.sub === undefined ? undefined : hash?.(entry.sub)));
      message.span.updateName(spanName(message.facts.method, entry));
      fail(message, recordFailure(entry), false);
    }
  };
  const answered: AnswerObserver = (sent) => {
    const id = (sent as { id?: unknown } | undefined)?.id;
    const message = spans.find((s) => s.facts.id !== undefined && s.facts.id === String(id));
    if (message) fail(message, answerFailure(sent), true);
  };

  return {
    observe: (line) => (entry) => {
      line(entry);
      if (spans.length > 0) record(entry);
    },
    messages(body, revisionHeader, requestId) {
      // No tracer provider registered (no delegate behind the API's proxy): nothing to do, at no cost.
      if (!(trace.getTracerProvider() as ProxyTracerProvider).getDelegateTracer?.(TRACER)) return;
      const ambientSpan = trace.getSpanContext(ambient);
      spans = messagesOf(body, MAX_SPANS).map((facts) => {
        const remote = metaTraceContext(facts.meta);
        const links: Link[] = remote && ambientSpan ? [{ context: ambientSpan }] : [];
        const parent = remote ? trace.setSpanContext(ambient, remote) : ambient;
        const span = tracer.startSpan(facts.method, { kind: SpanKind.SERVER, startTime: arrived, links }, parent);
        if (span.isRecording())
          span.setAttributes({ ...messageAttributes(facts, revisionHeader), 'audit.request_id': requestId });
        return { facts, span };
      });
      // Sampled out: keep nothing, so every later call returns at once.
      if (!spans.some((s) => s.span.isRecording())) spans = [];
      else hash = subjectHasher(subjectKey);
    },
    caller(principal) {
      // Written when the span closes, and only on spans no record describes (a record says the same).
      if (spans.length > 0) caller = principal;
    },
    refused(refusal) {
      // Refused before the SDK: the JSON-RPC error code its answer carries.
      for (const message of spans) fail(message, { errorType: String(refusal.code), code: refusal.code }, true);
    },
    run(dispatch) {
      if (spans.length === 0) return dispatch();
      const only = spans.length === 1 ? spans[0] : undefined;
      const active = only ? trace.setSpan(context.active(), only.span) : context.active();
      return context.with(active.setValue(ANSWER_OBSERVER, answered), dispatch);
    },
    closed() {
      const ended = Date.now();
      const attributes =
        caller && spans.some((s) => !s.record)
          ? principalAttributes(caller, caller.kind === 'user' ? hash?.(caller.subject) : undefined)
          : undefined;
      for (const message of spans) {
        if (attributes && !message.record) message.span.setAttributes(attributes);
        message.span.end(ended);
      }
      spans = [];
    },
  };
}
