import { z } from 'zod';
import { defineTool, jsonResult } from '@/lib/registry';

export default defineTool({
  name: 'whoami',
  access: 'signed-in',
  // Per caller and client, on every instance at once (Upstash Redis); refused while the counter is out of reach.
  rate: { requests: 60, window: '1 m' },
  title: 'Who am I',
  description:
    'Show the verified identity behind this connection: user, organization, OAuth client and granted scopes.',
  input: z.object({}),
  annotations: { readOnlyHint: true, openWorldHint: false },
  handler: (_input, { principal }) => {
    // Identity facts only; the token itself never reaches a tool.
    return jsonResult({
      subject: principal.subject,
      organizationId: principal.organizationId ?? null,
      clientId: principal.clientId ?? null,
      scopes: principal.scopes,
      expiresAt: new Date(principal.expiresAt * 1000).toISOString(),
    });
  },
});
