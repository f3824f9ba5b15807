import { acceptedContent, inputRequired } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { definePrompt, defineResource } from '@/lib/registry';
import { PNG_1X1 } from './fixture-tools';

/**
 * The resources and prompts the conformance server scenarios read and get (their URIs, names,
 * arguments and results follow each scenario's "Server Implementation Requirements"), declared
 * with `defineResource` and `definePrompt` so they go through the registry checks, the gate and
 * the audited wrapper like every primitive of the app.
 */

const CITIES = ['paris', 'park', 'party', 'prague', 'porto'];

export const conformanceResources = [
  defineResource({
    name: 'static_text',
    uri: 'test://static-text',
    title: 'Static text',
    description: 'A static text resource (resources-read-text)',
    mimeType: 'text/plain',
    access: 'public',
    read: (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }],
    }),
  }),
  defineResource({
    name: 'static_binary',
    uri: 'test://static-binary',
    title: 'Static binary',
    description: 'A static PNG resource (resources-read-binary)',
    mimeType: 'image/png',
    access: 'public',
    read: (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG_1X1 }] }),
  }),
  defineResource({
    name: 'template_data',
    uri: 'test://template/{id}/data',
    title: 'Template data',
    description: 'A resource template that substitutes its id (resources-templates-read)',
    mimeType: 'application/json',
    access: 'public',
    complete: { id: (value) => ['123', '456', '789'].filter((id) => id.startsWith(value)) },
    read: (uri, { id }) => ({
      contents: [
        {
          uri: uri.href,
          mimeType: 'application/json',
          text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
        },
      ],
    }),
  }),
];

const text = (value: string) => ({ type: 'text' as const, text: value });

export const conformancePrompts = [
  definePrompt({
    name: 'test_simple_prompt',
    title: 'Simple prompt',
    description: 'A prompt without arguments (prompts-get-simple)',
    access: 'public',
    handler: () => ({ messages: [{ role: 'user', content: text('This is a simple prompt for testing.') }] }),
  }),
  definePrompt({
    name: 'test_prompt_with_arguments',
    title: 'Prompt with arguments',
    description: 'A prompt with two required arguments (prompts-get-with-args, completion-complete)',
    access: 'public',
    arguments: z.object({
      arg1: z.string().describe('First test argument'),
      arg2: z.string().describe('Second test argument'),
    }),
    audit: ['arg1', 'arg2'],
    complete: { arg1: (value) => CITIES.filter((city) => city.startsWith(value)) },
    handler: ({ arg1, arg2 }) => ({
      messages: [{ role: 'user', content: text(`Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`) }],
    }),
  }),
  definePrompt({
    name: 'test_prompt_with_embedded_resource',
    title: 'Prompt with an embedded resource',
    description: 'A prompt embedding the resource it is given (prompts-get-embedded-resource)',
    access: 'public',
    arguments: z.object({ resourceUri: z.string().describe('URI of the resource to embed') }),
    handler: ({ resourceUri }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'resource',
            resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' },
          },
        },
        { role: 'user', content: text('Please process the embedded resource above.') },
      ],
    }),
  }),
  definePrompt({
    name: 'test_prompt_with_image',
    title: 'Prompt with an image',
    description: 'A prompt with image content (prompts-get-with-image)',
    access: 'public',
    handler: () => ({
      messages: [
        { role: 'user', content: { type: 'image', data: PNG_1X1, mimeType: 'image/png' } },
        { role: 'user', content: text('Please analyze the image above.') },
      ],
    }),
  }),
  definePrompt({
    name: 'test_input_required_result_prompt',
    title: 'Prompt that asks first',
    description: 'Asks the user for context before it answers (input-required-result-non-tool-request)',
    access: 'public',
    ask: (_args, { input }) => {
      const UserContext = z.object({ context: z.string() });
      if (acceptedContent(input.responses, 'user_context', UserContext)) return undefined;
      return input.ask(
        {
          user_context: inputRequired.elicit({
            message: 'What context should the prompt use?',
            requestedSchema: UserContext,
          }),
        },
        { asked: 'user_context' },
      );
    },
    handler: (_args, { input }) => {
      const answer = acceptedContent(input?.responses, 'user_context', z.object({ context: z.string() }));
      return { messages: [{ role: 'user', content: text(`Prompt for context: ${answer?.context ?? ''}`) }] };
    },
  }),
];
