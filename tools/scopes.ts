// Scope hierarchies, declared in one place (SEP-2350).
import { notesScopeHierarchy } from './notes'; // the notes example

/**
 * An entry `'billing:admin': ['billing:read']` lets a token granted `billing:admin` call what
 * requires `billing:read`. The registry refuses cycles and scopes no primitive requires.
 */
// biome-ignore format: one entry a line, so a hand edit is already formatted
export const scopeHierarchy: Readonly<Record<string, readonly string[]>> = {
  ...notesScopeHierarchy, // the notes example
};
