import { describe, expect, it } from 'vitest';
import { challengeStatus, sanitizeDescription, wwwAuthenticate, type Challenge } from '@/lib/auth/challenge';

const PRM = 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp';

describe('WWW-Authenticate challenges', () => {
  const table: Array<[string, Challenge, number, string]> = [
    [
      'anonymous, no scopes needed',
      { kind: 'authentication_required', scopes: [] },
      401,
      `Bearer resource_metadata="${PRM}"`,
    ],
    [
      'anonymous, scopes needed (sorted, unique)',
      { kind: 'authentication_required', scopes: ['notes:write', 'notes:read', 'notes:read'] },
      401,
      `Bearer resource_metadata="${PRM}", scope="notes:read notes:write"`,
    ],
    [
      'invalid token',
      { kind: 'invalid_token', description: 'The access token expired' },
      401,
      `Bearer error="invalid_token", error_description="The access token expired", resource_metadata="${PRM}"`,
    ],
    [
      'insufficient scope',
      { kind: 'insufficient_scope', scopes: ['notes:read', 'notes:write'] },
      403,
      `Bearer error="insufficient_scope", scope="notes:read notes:write", resource_metadata="${PRM}"`,
    ],
    ['malformed header', { kind: 'invalid_request', description: 'x' }, 400, 'Bearer error="invalid_request"'],
  ];
  it.each(table)('%s', (_name, challenge, status, header) => {
    expect(challengeStatus(challenge)).toBe(status);
    expect(wwwAuthenticate(challenge, PRM)).toBe(header);
  });

  it('keeps quotes, backslashes and CR/LF out of header values', () => {
    const header = wwwAuthenticate({ kind: 'invalid_token', description: 'a"b\\c\r\nSet-Cookie: x=1' }, PRM);
    expect(header).not.toMatch(/[\r\n]/);
    expect(header).toContain('error_description="abcSet-Cookie: x=1"');
    const scoped = wwwAuthenticate(
      { kind: 'insufficient_scope', scopes: ['ok', 'bad"scope', 'new\nline', 'sp ace'] },
      PRM,
    );
    expect(scoped).toContain('scope="ok"');
  });

  it('bounds descriptions', () => {
    expect(sanitizeDescription('x'.repeat(500))).toHaveLength(200);
  });
});
