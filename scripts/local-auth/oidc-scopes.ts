/**
 * The OpenID Connect scopes the local authorization server always understands beside the resource
 * scopes; the OAuth client (scripts/oauth-client/flow.ts) leaves them out of what it asks for by default.
 */
export const OIDC_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'offline_access'];
