/**
 * Reads credentials from a request. Tokens are accepted only in one `Authorization: Bearer`
 * header (OAuth 2.1 §5.1); anything ambiguous is a 400, never silently anonymous.
 */
export type Credentials =
  | { kind: 'none' }
  | { kind: 'bearer'; token: string }
  | { kind: 'malformed'; description: string };

// RFC 6750 b64token. A repeated header arrives joined with ", ", which this grammar rejects.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** Parses the URL only when it has a query: /mcp is normally called without one. */
function hasQueryToken(url: string | URL): boolean {
  if (typeof url === 'string' && !url.includes('?')) return false;
  return new URL(url).searchParams.has('access_token');
}

export function readCredentials(headers: Headers, url: string | URL): Credentials {
  if (hasQueryToken(url)) {
    return { kind: 'malformed', description: 'Send the access token in the Authorization header, not the URL' };
  }
  const value = headers.get('authorization');
  if (value === null) return { kind: 'none' };
  const match = BEARER.exec(value);
  if (!match?.[1]) {
    return { kind: 'malformed', description: 'Expected exactly one Authorization header of the form: Bearer <token>' };
  }
  return { kind: 'bearer', token: match[1] };
}
