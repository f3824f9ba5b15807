import { createRegistry } from '@/lib/registry';
import notesCreate from './notes/notes_create';
import notesDelete from './notes/notes_delete';
import notesList from './notes/notes_list';
import noteResource from './notes/note_resource';
import summarizeNotes from './notes/summarize_notes';
import orgMembers from './org_members';
import ping from './ping';
import { scopeHierarchy } from './scopes';
import whoami from './whoami';

/**
 * Every tool, resource and prompt the server offers. Adding one: one file in tools/ and one line
 * here. Removing the notes example: delete tools/notes/, its lines here, and its `notes:admin`
 * entry in tools/scopes.ts (the registry refuses a hierarchy naming scopes no tool requires).
 */
export const registry = createRegistry(
  [ping, whoami, notesList, notesCreate, notesDelete, noteResource, summarizeNotes, orgMembers],
  { scopeHierarchy },
);
