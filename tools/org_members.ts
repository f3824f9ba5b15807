import { z } from 'zod';
import { defineTool, jsonResult, toolError } from '@/lib/registry';

export const DIRECTORY_UNAVAILABLE = 'Organization directory is unavailable right now; try again later';
export const LOOKUPS_NOT_CONFIGURED = 'Organization lookups are not configured (set WORKOS_API_KEY)';

export default defineTool({
  name: 'org_members',
  access: { roles: ['admin'] },
  title: 'Organization members',
  description:
    'List the active members of your organization with their roles (and email and name). Organization admins only.',
  input: z.object({}),
  annotations: { readOnlyHint: true, openWorldHint: false },
  handler: async (_input, { principal, directory }) => {
    if (!directory) return toolError(LOOKUPS_NOT_CONFIGURED);
    // Only the caller's own organization is ever listed.
    const members = await directory.members(principal.organizationId);
    if (members === 'unavailable') return toolError(DIRECTORY_UNAVAILABLE);
    return jsonResult({
      organizationId: principal.organizationId,
      members: members.map((m) => ({
        userId: m.userId,
        role: m.roles[0] ?? null,
        roles: m.roles,
        email: m.email,
        name: m.name,
      })),
    });
  },
});
