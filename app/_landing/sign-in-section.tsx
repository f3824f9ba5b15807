import type { SeededUser } from './local-sign-in';
import { scrollBox, TABLE } from './styles';

/** Where tokens come from and, with the local authorization server, whom to sign in as. */
export function SignInSection({ issuer, users }: { issuer: string; users: SeededUser[] | undefined }) {
  return (
    <section>
      <h2>Sign in</h2>
      <p>
        Tokens come from <code id="issuer">{issuer}</code>
        {users
          ? ', the local authorization server npm run dev started. Its sign-in page lets you pick one of these users and an organization, then shows the scopes to allow.'
          : ', the authorization server this server names in its protected resource metadata; clients send you there to sign in.'}
      </p>
      {users && (
        <div style={scrollBox}>
          <table id="seeded-users" className={TABLE}>
            <thead>
              <tr>
                <th>user</th>
                <th>organization: role</th>
              </tr>
            </thead>
            <tbody>
              {users.map((user) => (
                <tr key={user.handle} data-user={user.handle}>
                  <td>
                    <code>{user.handle}</code> {user.name}
                  </td>
                  <td data-label="member of">{user.memberships.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
