import { describe, expect, it } from 'vitest';
import { localSignIn } from '@/app/_landing/local-sign-in';

/** The landing page's list of seeded users: only when the local authorization server is the issuer. */
describe('localSignIn', () => {
  it('lists the seeded directory when AUTHKIT_DOMAIN is unset (what npm run dev starts)', async () => {
    // Written out from scripts/local-auth/directory.ts: a change there must show up here on purpose.
    expect(await localSignIn({})).toEqual([
      {
        handle: 'alice',
        name: 'Alice Anderson',
        email: 'alice@acme.test',
        memberships: ['Acme Corp (org_acme): admin'],
      },
      { handle: 'bob', name: 'Bob Baker', email: 'bob@acme.test', memberships: ['Acme Corp (org_acme): member'] },
      {
        handle: 'carol',
        name: 'Carol Chen',
        email: 'carol@globex.test',
        memberships: ['Globex Corporation (org_globex): admin'],
      },
    ]);
  });

  it('lists nobody once a real issuer is configured', async () => {
    expect(await localSignIn({ AUTHKIT_DOMAIN: 'https://acme.authkit.app' })).toBeUndefined();
  });
});
