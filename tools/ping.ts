import { z } from 'zod';
import { defineTool, jsonResult } from '@/lib/registry';

export default defineTool({
  name: 'ping',
  access: 'public',
  // Anonymous callers are counted per client address; a public primitive's calls go through while the counter is out of reach.
  rate: { requests: 120, window: '1 m' },
  title: 'Ping',
  description: 'Check that the server answers. Anyone may call it, signed in or not.',
  input: z.object({ message: z.string().max(200).optional().describe('Echoed back unchanged') }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  handler: ({ message }) => jsonResult({ pong: true, ...(message === undefined ? {} : { message }) }),
});
