import { z } from 'zod';
import { inputRequired, inputResponse } from '@modelcontextprotocol/server';
import { defineTool, type InputContext } from '@/lib/registry';

/**
 * The tools the @modelcontextprotocol/conformance server scenarios call (their names, inputs and
 * results follow each scenario's "Server Implementation Requirements"), declared with our own
 * `defineTool` so they go through the registry checks, the gate and the audited wrapper.
 *
 * The handler context gives a handler the verified principal, progress (when the client asked for it) and
 * a logger (filtered by the level the client set). The tools that ask the client (sampling,
 * elicitation) do so through the registry's `ask` step: multi round-trip input on 2026-07-28, the
 * SDK's legacy path on 2025-11-25 (which cannot reach the client of a stateless server).
 */

// A 1x1 red PNG.
export const PNG_1X1 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

/** A valid 8 kHz mono 8-bit WAV of 8 silent samples. */
function tinyWav(): string {
  const samples = 8;
  const wav = Buffer.alloc(44 + samples, 0x80);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + samples, 4);
  wav.write('WAVE', 8, 'ascii');
  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(8000, 24); // sample rate
  wav.writeUInt32LE(8000, 28); // byte rate
  wav.writeUInt16LE(1, 32); // block align
  wav.writeUInt16LE(8, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(samples, 40);
  return wav.toString('base64');
}

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The answer to the elicitation these tools ask with key `answer`, or undefined before it came. */
function elicited(input: InputContext | undefined): { action: string; content?: Record<string, unknown> } | undefined {
  const view = inputResponse(input?.responses, 'answer');
  return view.kind === 'elicit' ? { action: view.action, content: view.content } : undefined;
}
const elicitationCompleted = (input: InputContext | undefined) => {
  const answer = elicited(input);
  return text(`Elicitation completed: action=${answer?.action}, content=${JSON.stringify(answer?.content ?? {})}`);
};

// zod 4 puts a schema with an id under $defs and refers to it with $ref (json-schema-2020-12).
const Address = z.object({ street: z.string().optional(), city: z.string().optional() }).meta({ id: 'address' });

export const conformanceTools = [
  defineTool({
    name: 'test_simple_text',
    title: 'Simple text',
    description: 'Returns a simple text response (tools-call-simple-text)',
    access: 'public',
    input: z.object({}),
    handler: () => text('This is a simple text response for testing.'),
  }),
  defineTool({
    name: 'test_image_content',
    title: 'Image content',
    description: 'Returns a 1x1 PNG (tools-call-image)',
    access: 'public',
    input: z.object({}),
    handler: () => ({ content: [{ type: 'image', data: PNG_1X1, mimeType: 'image/png' }] }),
  }),
  defineTool({
    name: 'test_audio_content',
    title: 'Audio content',
    description: 'Returns a tiny WAV (tools-call-audio)',
    access: 'public',
    input: z.object({}),
    handler: () => ({ content: [{ type: 'audio', data: tinyWav(), mimeType: 'audio/wav' }] }),
  }),
  defineTool({
    name: 'test_embedded_resource',
    title: 'Embedded resource',
    description: 'Returns an embedded text resource (tools-call-embedded-resource)',
    access: 'public',
    input: z.object({}),
    handler: () => ({
      content: [
        {
          type: 'resource',
          resource: {
            uri: 'test://embedded-resource',
            mimeType: 'text/plain',
            text: 'This is an embedded resource content.',
          },
        },
      ],
    }),
  }),
  defineTool({
    name: 'test_multiple_content_types',
    title: 'Mixed content',
    description: 'Returns text, image and resource content (tools-call-mixed-content)',
    access: 'public',
    input: z.object({}),
    handler: () => ({
      content: [
        { type: 'text', text: 'Multiple content types test:' },
        { type: 'image', data: PNG_1X1, mimeType: 'image/png' },
        {
          type: 'resource',
          resource: {
            uri: 'test://mixed-content-resource',
            mimeType: 'application/json',
            text: JSON.stringify({ test: 'data', value: 123 }),
          },
        },
      ],
    }),
  }),
  defineTool({
    name: 'test_error_handling',
    title: 'Error handling',
    description: 'Always throws (tools-call-error); the wrapper turns it into an isError result',
    access: 'public',
    input: z.object({}),
    handler: () => {
      throw new Error('This tool intentionally returns an error for testing');
    },
  }),
  defineTool({
    name: 'test_tool_with_logging',
    title: 'Logging',
    description: 'Logs three info messages while running (tools-call-with-logging)',
    access: 'public',
    input: z.object({}),
    handler: async (_input, { log }) => {
      await log?.('info', 'Tool execution started');
      await sleep(50);
      await log?.('info', 'Tool processing data');
      await sleep(50);
      await log?.('info', 'Tool execution completed');
      return text('Tool with logging executed successfully');
    },
  }),
  defineTool({
    name: 'test_logging_tool',
    title: 'Logging without a level',
    description: 'Logs one message; sent only when the request set a log level (server-stateless)',
    access: 'public',
    input: z.object({}),
    handler: async (_input, { log }) => {
      await log?.('info', 'logged only at a level the client asked for');
      return text('Logging tool executed');
    },
  }),
  defineTool({
    name: 'test_tool_with_progress',
    title: 'Progress',
    description: 'Reports progress 0, 50, 100 of 100 (tools-call-with-progress)',
    access: 'public',
    input: z.object({}),
    handler: async (_input, { progress }) => {
      await progress?.(0, 100);
      await sleep(50);
      await progress?.(50, 100);
      await sleep(50);
      await progress?.(100, 100);
      return text('Tool with progress executed');
    },
  }),
  defineTool({
    name: 'test_streaming_elicitation',
    title: 'Streaming without requests',
    description:
      'Answers on its response stream with a result only: a handler here cannot send requests to the client (server-stateless)',
    access: 'public',
    input: z.object({}),
    handler: () => text('No elicitation request was sent on the response stream'),
  }),
  defineTool({
    name: 'test_custom_headers',
    title: 'Mcp-Param headers',
    description: 'Declares its region argument as the Mcp-Param-Region header (http-custom-header-server-validation)',
    access: 'public',
    input: z.object({
      region: z.string().meta({ 'x-mcp-header': 'Region' }).describe('Mirrored in Mcp-Param-Region'),
    }),
    audit: ['region'],
    handler: ({ region }) => text(`region: ${region}`),
  }),
  defineTool({
    name: 'test_sampling',
    title: 'Sampling',
    description: 'Should ask the client for an LLM completion (tools-call-sampling)',
    access: 'signed-in',
    input: z.object({ prompt: z.string() }),
    // Asked through the SDK: on 2025-11-25 its legacy path answers isError, since a stateless server cannot reach the client.
    ask: ({ prompt }, { input }) =>
      inputResponse(input.responses, 'answer').kind === 'sampling'
        ? undefined
        : input.ask(
            {
              answer: inputRequired.createMessage({
                messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
                maxTokens: 100,
              }),
            },
            null,
          ),
    handler: (_args, { input }) => {
      const view = inputResponse(input?.responses, 'answer');
      const content = view.kind === 'sampling' ? view.result.content : undefined;
      const first = Array.isArray(content) ? content[0] : content;
      return text(`LLM response: ${first?.type === 'text' ? first.text : ''}`);
    },
  }),
  defineTool({
    name: 'test_elicitation',
    title: 'Elicitation',
    description: 'Should ask the client for user input (tools-call-elicitation)',
    access: 'signed-in',
    input: z.object({ message: z.string() }),
    ask: ({ message }, { input }) =>
      elicited(input)
        ? undefined
        : input.ask(
            {
              answer: inputRequired.elicit({
                message,
                requestedSchema: {
                  type: 'object',
                  properties: {
                    username: { type: 'string', description: "User's response" },
                    email: { type: 'string', description: "User's email address" },
                  },
                  required: ['username', 'email'],
                },
              }),
            },
            null,
          ),
    handler: (_args, { input }) => text(`User response: ${JSON.stringify(elicited(input))}`),
  }),
  defineTool({
    name: 'test_elicitation_sep1034_defaults',
    title: 'Elicitation defaults',
    description: 'Should elicit with default values (elicitation-sep1034-defaults)',
    access: 'signed-in',
    input: z.object({}),
    ask: (_args, { input }) =>
      elicited(input)
        ? undefined
        : input.ask(
            {
              answer: inputRequired.elicit({
                message: 'Please review the defaults',
                requestedSchema: {
                  type: 'object',
                  properties: {
                    name: { type: 'string', default: 'John Doe' },
                    age: { type: 'integer', default: 30 },
                    score: { type: 'number', default: 95.5 },
                    status: { type: 'string', enum: ['active', 'inactive', 'pending'], default: 'active' },
                    verified: { type: 'boolean', default: true },
                  },
                },
              }),
            },
            null,
          ),
    handler: (_args, { input }) => elicitationCompleted(input),
  }),
  defineTool({
    name: 'test_elicitation_sep1330_enums',
    title: 'Elicitation enums',
    description: 'Should elicit with the five enum shapes (elicitation-sep1330-enums)',
    access: 'signed-in',
    input: z.object({}),
    ask: (_args, { input }) =>
      elicited(input)
        ? undefined
        : input.ask(
            {
              answer: inputRequired.elicit({
                message: 'Pick options',
                requestedSchema: {
                  type: 'object',
                  properties: {
                    untitledSingle: { type: 'string', enum: ['option1', 'option2', 'option3'] },
                    titledSingle: {
                      type: 'string',
                      oneOf: [
                        { const: 'value1', title: 'First Option' },
                        { const: 'value2', title: 'Second Option' },
                        { const: 'value3', title: 'Third Option' },
                      ],
                    },
                    legacyEnum: {
                      type: 'string',
                      enum: ['opt1', 'opt2', 'opt3'],
                      enumNames: ['Option One', 'Option Two', 'Option Three'],
                    },
                    untitledMulti: {
                      type: 'array',
                      items: { type: 'string', enum: ['option1', 'option2', 'option3'] },
                    },
                    titledMulti: {
                      type: 'array',
                      items: {
                        anyOf: [
                          { const: 'value1', title: 'First Choice' },
                          { const: 'value2', title: 'Second Choice' },
                          { const: 'value3', title: 'Third Choice' },
                        ],
                      },
                    },
                  },
                },
              }),
            },
            null,
          ),
    handler: (_args, { input }) => elicitationCompleted(input),
  }),
  defineTool({
    name: 'json_schema_2020_12_tool',
    title: 'JSON Schema 2020-12',
    description: 'Tool with JSON Schema 2020-12 features (json-schema-2020-12)',
    access: 'public',
    input: z.object({ name: z.string().optional(), address: Address.optional() }).strict(),
    handler: () => text('JSON Schema 2020-12 tool executed'),
  }),
  defineTool({
    name: 'test_reconnection',
    title: 'Reconnection',
    description: 'Should close the SSE stream mid-call and answer on reconnection (server-sse-polling)',
    access: 'public',
    input: z.object({}),
    handler: () => text('Reconnection test completed (answered on the POST stream: the server is stateless)'),
  }),
];
