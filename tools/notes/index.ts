import noteResource from './note_resource';
import notesCreate from './notes_create';
import notesDelete from './notes_delete';
import notesList from './notes_list';
import summarizeNotes from './summarize_notes';

/** The notes example: its tools, resource template and prompt, registered by one line in tools/index.ts. */
export const notes = [notesList, notesCreate, notesDelete, noteResource, summarizeNotes];

/** A token granted `notes:admin` may call what requires `notes:read` or `notes:write` (SEP-2350). */
export const notesScopeHierarchy = {
  'notes:admin': ['notes:read', 'notes:write'],
} as const;
