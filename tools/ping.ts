import { z } from 'zod';
import { defineTool, jsonResult } from '@/lib/registry';

export default defineTool({
  name: 'ping',
  access: 'public',
  title: 'Ping',
  description: 'Check that the server answers. Anyone may call it, signed in or not.',
  input: z.object({ message: z.string().max(200).optional().describe('Echoed back unchanged') }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  handler: ({ message }) => jsonResult({ pong: true, ...(message === undefined ? {} : { message }) }),
});
