// `npm run revoke -- --user alice [--consent-only]`: asks the local authorization server (npm run
// dev) to take a user's access back, as an administrator would in WorkOS:
//   default          removes the user's consents and sends the MCP server a signed
//                    organization_membership.deleted per membership (the deny list stops every token)
//   --consent-only   removes the consents only: no event, as in WorkOS; primitives that declare
//                    `liveToken` stop (introspection), the others keep working until the token expires
//
//   LOCAL_AUTH_PORT  the authorization server's port (default 4000)

import { parseArgs } from 'node:util';
import { loadDevEnv } from './dev-env';

async function main(): Promise<void> {
  loadDevEnv();
  const { values } = parseArgs({
    options: { user: { type: 'string' }, 'consent-only': { type: 'boolean', default: false } },
  });
  if (!values.user) throw new Error('usage: npm run revoke -- --user alice [--consent-only]');
  const port = process.env.LOCAL_AUTH_PORT ?? '4000';
  const response = await fetch(`http://localhost:${port}/dev/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: values.user, consentOnly: values['consent-only'] }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`revoke: the authorization server answered ${response.status}: ${text}`);
  console.log(text);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
