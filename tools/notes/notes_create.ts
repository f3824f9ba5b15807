import { z } from 'zod';
import { defineTool, jsonResult } from '@/lib/registry';
import { BODY_MAX, TITLE_MAX, withNotesStore } from '@/tools/notes/store';

export default defineTool({
  name: 'notes_create',
  access: { scopes: ['notes:write'], org: 'required' },
  title: 'Create a note',
  description: 'Create a note in your organization, authored by you. Returns the note with its id.',
  input: z.object({
    title: z.string().trim().min(1).max(TITLE_MAX).describe(`Title, 1-${TITLE_MAX} characters`),
    body: z.string().max(BODY_MAX).describe(`Text of the note, up to ${BODY_MAX} characters`),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  // The title is recorded in the audit trail; the body never is.
  audit: ['title'],
  handler: ({ title, body }, { principal: { organizationId, subject } }) =>
    withNotesStore(async (store) => {
      const note = await store.create(organizationId, { title, body, authorId: subject });
      return jsonResult({ organizationId, note });
    }),
});
