import type { McpServer } from '@modelcontextprotocol/server';
import { context } from '@opentelemetry/api';
import { ANSWER_OBSERVER, type AnswerObserver } from './request-trace';

/**
 * Shows the request's trace every JSON-RPC message the SDK sends back (errors and `isError` results
 * become `error.type` on the message's span). The observer travels in the context dispatch runs in
 * (./request-trace.ts `run`); without a registered context manager there is none, and the server is
 * left as it is.
 */
export function observeAnswers(server: McpServer): void {
  const observe = context.active().getValue(ANSWER_OBSERVER) as AnswerObserver | undefined;
  if (!observe) return;
  const connect = server.connect.bind(server);
  server.connect = async (transport) => {
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
      try {
        observe(message);
      } catch {
        // a trace must never change an answer
      }
      return send(message, options);
    };
    return connect(transport);
  };
}
