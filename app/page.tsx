import { getConfig } from '@/lib/config';
import { describeAccess } from '@/lib/policy';
import { registry } from '@/tools';

export const dynamic = 'force-dynamic';

export default function Home() {
  let resourceUrl = '(not configured)';
  try {
    resourceUrl = getConfig().resourceUrl;
  } catch {
    // The page still renders; /mcp answers 500 until the configuration is fixed.
  }
  return (
    <main>
      <h1>Edge MCP server with AuthKit</h1>
      <p>
        Connect an MCP client (streamable HTTP) to <code id="mcp-url">{resourceUrl}</code>. Public tools work anonymously; the
        others start OAuth with the authorization server named in the server&apos;s protected resource metadata.
      </p>
      <h2>Tools and who may call them</h2>
      <table id="access-map">
        <thead>
          <tr>
            <th align="left">tool</th>
            <th align="left">access</th>
            <th align="left">description</th>
          </tr>
        </thead>
        <tbody>
          {registry.tools.map((tool) => (
            <tr key={tool.name}>
              <td>
                <code>{tool.name}</code>
              </td>
              <td>{describeAccess(tool.access)}</td>
              <td>{tool.description}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </main>
  );
}
