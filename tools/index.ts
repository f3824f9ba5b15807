import { createRegistry } from '@/lib/registry';
import { approvals } from './approvals';
import { notes } from './notes'; // the notes example
import orgMembers from './org_members';
import ping from './ping';
import { scopeHierarchy } from './scopes';
import whoami from './whoami';

/**
 * Every tool, resource and prompt the server offers. Adding one: a file in tools/, its import above
 * and one line in this list. The example's lines end in a comment naming it; README: "Make it yours".
 */
// biome-ignore format: one primitive a line, so a hand edit is already formatted
const primitives = [
  ping,
  whoami,
  orgMembers,
  ...notes, // the notes example
];

export const registry = createRegistry(primitives, { scopeHierarchy, approvals });
