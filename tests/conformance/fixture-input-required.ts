import { acceptedContent, inputRequired, inputResponse, type InputRequests } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { defineTool, type InputContext } from '@/lib/registry';

/**
 * The multi round-trip tools of the conformance scenarios (input-required-result-*, server-stateless
 * and the 2025-11-25 elicitation and sampling ones), through the registry's `ask` step: each asks
 * with `input.ask`, which seals its requestState with the server's key (bound to the caller, the
 * tool and its arguments), and answers once the retry carries what it asked for. On 2025-11-25 the
 * same tools go through the SDK's legacy path, which cannot reach the client of a stateless server
 * and answers them with an isError result.
 */

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
const Name = z.object({ name: z.string() });
const Color = z.object({ color: z.string() });
const Ok = z.object({ ok: z.boolean() });

const askName = (message = 'What is your name?') => inputRequired.elicit({ message, requestedSchema: Name });
const askCapital = () =>
  inputRequired.createMessage({
    messages: [{ role: 'user', content: { type: 'text', text: 'What is the capital of France?' } }],
    maxTokens: 100,
  });

/** The text of a sampling answer, or undefined. */
function sampled(input: InputContext | undefined, key: string): string | undefined {
  const view = inputResponse(input?.responses, key);
  if (view.kind !== 'sampling') return undefined;
  const content = view.result.content;
  const first = Array.isArray(content) ? content[0] : content;
  return first && first.type === 'text' ? first.text : undefined;
}

function roots(input: InputContext | undefined, key: string): string[] | undefined {
  const view = inputResponse(input?.responses, key);
  return view.kind === 'roots' ? view.roots.map((root) => root.uri) : undefined;
}

/** The state this tool sealed on the previous round, when it has the expected shape. */
const stateOf = <T extends z.ZodType>(schema: T, input: InputContext | undefined): z.infer<T> | undefined => {
  const parsed = schema.safeParse(input?.state);
  return parsed.success ? parsed.data : undefined;
};

const Round = z.object({ round: z.literal(1) });
const SecondRound = z.object({ round: z.literal(2), name: z.string() });

export const conformanceInputTools = [
  defineTool({
    name: 'test_input_required_result_elicitation',
    title: 'Asks for a name',
    description: 'One elicitation round (input-required-result-basic-elicitation and its variants)',
    access: 'public',
    input: z.object({}),
    ask: (_args, { input }) =>
      acceptedContent(input.responses, 'user_name', Name) ? undefined : input.ask({ user_name: askName() }, null),
    handler: (_args, { input }) => text(`Hello, ${acceptedContent(input?.responses, 'user_name', Name)?.name}!`),
  }),
  defineTool({
    name: 'test_input_required_result_sampling',
    title: 'Asks for a completion',
    description: 'One sampling round (input-required-result-basic-sampling)',
    access: 'public',
    input: z.object({}),
    ask: (_args, { input }) =>
      sampled(input, 'capital_question') === undefined
        ? input.ask({ capital_question: askCapital() }, null)
        : undefined,
    handler: (_args, { input }) => text(`The model answered: ${sampled(input, 'capital_question')}`),
  }),
  defineTool({
    name: 'test_input_required_result_list_roots',
    title: 'Asks for roots',
    description: 'One roots/list round (input-required-result-basic-list-roots)',
    access: 'public',
    input: z.object({}),
    ask: (_args, { input }) =>
      roots(input, 'client_roots') === undefined
        ? input.ask({ client_roots: inputRequired.listRoots() }, null)
        : undefined,
    handler: (_args, { input }) => text(`Roots: ${(roots(input, 'client_roots') ?? []).join(', ')}`),
  }),
  defineTool({
    name: 'test_input_required_result_request_state',
    title: 'Asks with state',
    description: 'An elicitation with a sealed requestState (input-required-result-request-state)',
    access: 'public',
    input: z.object({}),
    ask: (_args, { input }) =>
      stateOf(z.object({ asked: z.literal('confirm') }), input) && acceptedContent(input.responses, 'confirm', Ok)
        ? undefined
        : input.ask(
            { confirm: inputRequired.elicit({ message: 'Please confirm', requestedSchema: Ok }) },
            { asked: 'confirm' },
          ),
    handler: () => text('state-ok: the requestState came back verified'),
  }),
  defineTool({
    name: 'test_input_required_result_multiple_inputs',
    title: 'Asks three things at once',
    description: 'Elicitation, sampling and roots in one round (input-required-result-multiple-input-requests)',
    access: 'public',
    input: z.object({}),
    ask: (_args, { input }) => {
      const done =
        acceptedContent(input.responses, 'user_name', Name) &&
        sampled(input, 'greeting') !== undefined &&
        roots(input, 'client_roots') !== undefined;
      if (done) return undefined;
      const requests: InputRequests = {
        user_name: askName(),
        greeting: inputRequired.createMessage({
          messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }],
          maxTokens: 50,
        }),
        client_roots: inputRequired.listRoots(),
      };
      return input.ask(requests, { asked: 'all' });
    },
    handler: (_args, { input }) =>
      text(
        `${sampled(input, 'greeting')} ${acceptedContent(input?.responses, 'user_name', Name)?.name} (roots: ${roots(input, 'client_roots')?.length})`,
      ),
  }),
  defineTool({
    name: 'test_input_required_result_multi_round',
    title: 'Asks twice',
    description: 'Two elicitation rounds with an evolving requestState (input-required-result-multi-round)',
    access: 'public',
    input: z.object({}),
    ask: (_args, { input }) => {
      const second = stateOf(SecondRound, input);
      if (second && acceptedContent(input.responses, 'step2', Color)) return undefined;
      const name = stateOf(Round, input) && acceptedContent(input.responses, 'step1', Name)?.name;
      if (name)
        return input.ask(
          {
            step2: inputRequired.elicit({ message: 'Step 2: What is your favorite color?', requestedSchema: Color }),
          },
          { round: 2, name },
        );
      return input.ask({ step1: askName('Step 1: What is your name?') }, { round: 1 });
    },
    handler: (_args, { input }) =>
      text(`${stateOf(SecondRound, input)?.name} likes ${acceptedContent(input?.responses, 'step2', Color)?.color}`),
  }),
  defineTool({
    name: 'test_input_required_result_tampered_state',
    title: 'Refuses tampered state',
    description:
      'Seals its requestState; a modified one is refused before the handler (input-required-result-tampered-state)',
    access: 'public',
    input: z.object({}),
    ask: (_args, { input }) =>
      stateOf(z.object({ asked: z.literal('tamper') }), input) && acceptedContent(input.responses, 'confirm', Ok)
        ? undefined
        : input.ask(
            { confirm: inputRequired.elicit({ message: 'Please confirm', requestedSchema: Ok }) },
            { asked: 'tamper' },
          ),
    handler: () => text('The requestState was intact'),
  }),
  defineTool({
    name: 'test_input_required_result_capabilities',
    title: 'Asks only what the client declared',
    description: 'Asks only for input the request declares it can answer (input-required-result-capability-check)',
    access: 'public',
    input: z.object({}),
    ask: (_args, { input }) => {
      if (input.state !== undefined) return undefined;
      const requests: InputRequests = {
        ...(input.canElicit && { user_name: askName() }),
        ...(input.canSample && { capital_question: askCapital() }),
        ...(input.canListRoots && { client_roots: inputRequired.listRoots() }),
      };
      return Object.keys(requests).length === 0 ? undefined : input.ask(requests, { asked: Object.keys(requests) });
    },
    handler: (_args, { input }) =>
      text(`Answered: ${Object.keys(input?.responses ?? {}).join(', ') || 'nothing asked'}`),
  }),
  defineTool({
    name: 'test_missing_capability',
    title: 'Needs sampling',
    description:
      'Asks for sampling whether or not the client declared it: the SDK refuses an undeclared one with -32021 (server-stateless)',
    access: 'public',
    input: z.object({}),
    ask: (_args, { input }) =>
      sampled(input, 'capital_question') === undefined
        ? input.ask({ capital_question: askCapital() }, null)
        : undefined,
    handler: (_args, { input }) => text(`The model answered: ${sampled(input, 'capital_question')}`),
  }),
];
