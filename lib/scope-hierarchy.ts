/**
 * Scope hierarchies (MCP 2026-07-28, SEP-2350: servers must account for scope hierarchies when
 * deciding whether a token is sufficient). A hierarchy says which scope implies which others,
 * e.g. `notes:admin` implies `notes:read` and `notes:write`. It is declared once (tools/scopes.ts),
 * checked when the registry loads (lib/registry/index.ts: no cycles, no unknown scopes) and read by
 * policy evaluation, challenges, listing and the inventory through the functions here.
 *
 * Pure and Edge-safe; imports nothing, so it sits at the token's stage (README "Layout"): the
 * challenges and the metadata read it as well as the policy and the registry.
 */

/** scope -> the scopes it directly implies. */
export type ScopeHierarchy = Readonly<Record<string, readonly string[]>>;

export const NO_HIERARCHY: ScopeHierarchy = Object.freeze({});

/**
 * `offline_access` asks the authorization server for a refresh token; it is not a permission on
 * this resource, so it never appears in a challenge's `scope` or in `scopes_supported` (SEP-2207).
 */
export const OFFLINE_ACCESS = 'offline_access';

const direct = (hierarchy: ScopeHierarchy, scope: string): readonly string[] =>
  Object.hasOwn(hierarchy, scope) ? (hierarchy[scope] ?? []) : [];

/**
 * The granted scopes and every scope they imply, transitively. Bounded by the hierarchy's size
 * (each scope is visited once), so even an unchecked cyclic hierarchy terminates.
 */
export function effectiveScopes(granted: readonly string[], hierarchy: ScopeHierarchy): Set<string> {
  const seen = new Set<string>();
  const queue = [...granted];
  for (let scope = queue.shift(); scope !== undefined; scope = queue.shift()) {
    if (seen.has(scope)) continue;
    seen.add(scope);
    queue.push(...direct(hierarchy, scope));
  }
  return seen;
}

/** The scopes that, granted, satisfy `required` (itself included), sorted. */
export function satisfyingScopes(required: string, hierarchy: ScopeHierarchy): string[] {
  return Object.keys(hierarchy)
    .filter((scope) => scope !== required && effectiveScopes([scope], hierarchy).has(required))
    .concat(required)
    .sort();
}

/**
 * The first problem with a hierarchy, or undefined: a scope implying itself (directly or through
 * others), or an implied scope that is neither required by some tool nor declared in the hierarchy.
 */
export function hierarchyProblem(hierarchy: ScopeHierarchy, toolScopes: readonly string[]): string | undefined {
  const known = new Set([...toolScopes, ...Object.keys(hierarchy)]);
  for (const [scope, implied] of Object.entries(hierarchy)) {
    if (scope === OFFLINE_ACCESS || implied.includes(OFFLINE_ACCESS))
      return `"${OFFLINE_ACCESS}" requests a refresh token; it cannot be part of a scope hierarchy`;
    if (implied.length === 0) return `"${scope}" implies nothing; remove it or list the scopes it implies`;
    const unknown = implied.find((s) => !known.has(s));
    if (unknown !== undefined)
      return `"${scope}" implies unknown scope "${unknown}" (no tool requires it and the hierarchy does not declare it)`;
  }
  for (const scope of Object.keys(hierarchy)) {
    const cycle = cycleFrom(scope, hierarchy);
    if (cycle) return `cycle: ${cycle.join(' -> ')}`;
  }
  return undefined;
}

/** A path from `start` back to itself, if there is one (depth-first, each scope entered once). */
function cycleFrom(start: string, hierarchy: ScopeHierarchy): string[] | undefined {
  const visited = new Set<string>();
  const walk = (scope: string, path: string[]): string[] | undefined => {
    for (const next of direct(hierarchy, scope)) {
      if (next === start) return [...path, next];
      if (visited.has(next)) continue;
      visited.add(next);
      const found = walk(next, [...path, next]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(start, [start]);
}

/** Scopes fit to advertise or to ask for: without `offline_access`, each once, sorted. */
export function advertisedScopes(scopes: Iterable<string>): string[] {
  return [...new Set(scopes)].filter((scope) => scope !== OFFLINE_ACCESS).sort();
}
