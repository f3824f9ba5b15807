import { getConfig, type Config } from '@/lib/config';
import { approvalRows } from '@/lib/inventory';
import { registry } from '@/tools';
import { AccessMap } from './_landing/access-map';
import { ApprovalsTable } from './_landing/approvals-table';
import { ConnectSection } from './_landing/connect-section';
import { localSignIn } from './_landing/local-sign-in';
import { SignInSection } from './_landing/sign-in-section';
import { TABLE_CSS } from './_landing/styles';

export const dynamic = 'force-dynamic';

/** The landing page: where to connect and how, whom to sign in as, and the access map (as `npm run inventory`). */
export default async function Home() {
  let config: Config | undefined;
  try {
    config = getConfig();
  } catch {
    // The page still renders; /mcp answers 500 until the configuration is fixed.
  }
  const mcpUrl = config?.resourceUrl ?? '(not configured)';
  return (
    <main>
      <style>{TABLE_CSS}</style>
      <h1>Edge MCP server with AuthKit</h1>
      <p>
        MCP endpoint (streamable HTTP): <code id="mcp-url">{mcpUrl}</code>. Public tools work anonymously; the others
        start OAuth with the authorization server below.
      </p>
      <SignInSection issuer={config?.issuer ?? '(not configured)'} users={config ? await localSignIn() : undefined} />
      <ConnectSection mcpUrl={mcpUrl} />
      {/* Names and policies of hidden primitives are for reviewers: in production only when the deployer opts in. */}
      {config?.publicAccessMap ? (
        <>
          <AccessMap registry={registry} />
          <ApprovalsTable rows={approvalRows(registry.approvals, config)} />
        </>
      ) : (
        <p id="access-map-hidden">
          The access map is not published here (set <code>MCP_PUBLIC_ACCESS_MAP=true</code> to show it);{' '}
          <code>npm run inventory</code> prints it.
        </p>
      )}
    </main>
  );
}
