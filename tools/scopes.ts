/**
 * The one place a scope implies others (SEP-2350). A token granted `notes:admin` may call every
 * tool that requires `notes:read` or `notes:write`; the registry refuses cycles and unknown scopes.
 */
export const scopeHierarchy = {
  'notes:admin': ['notes:read', 'notes:write'],
} as const;
