import { getConfig } from '@/lib/config';
import { inventoryRows } from '@/lib/inventory';
import { registry } from '@/tools';

export const dynamic = 'force-dynamic';

const cellStyle = { padding: '0.35rem 0.75rem 0.35rem 0', borderBottom: '1px solid #ddd', verticalAlign: 'top' } as const;

/** The landing page: where to connect, and the access map (the same rows as `npm run inventory`). */
export default function Home() {
  let resourceUrl = '(not configured)';
  try {
    resourceUrl = getConfig().resourceUrl;
  } catch {
    // The page still renders; /mcp answers 500 until the configuration is fixed.
  }
  const rows = inventoryRows(registry);
  return (
    <main>
      <h1>Edge MCP server with AuthKit</h1>
      <p>
        Connect an MCP client (streamable HTTP) to <code id="mcp-url">{resourceUrl}</code>. Public tools work anonymously; the
        others start OAuth with the authorization server named in the server&apos;s protected resource metadata.
      </p>
      <h2>Tools and who may call them</h2>
      <table id="access-map" style={{ borderCollapse: 'collapse', width: '100%' }}>
        <thead>
          <tr>
            <th align="left" style={cellStyle}>tool</th>
            <th align="left" style={cellStyle}>access</th>
            <th align="left" style={cellStyle}>hints</th>
            <th align="left" style={cellStyle}>description</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.tool} data-tool={row.tool}>
              <td style={cellStyle}>
                <code>{row.tool}</code>
              </td>
              <td style={cellStyle} data-field="access">
                {row.access}
              </td>
              <td style={cellStyle} data-field="annotations">
                {row.annotations.join(', ') || '-'}
              </td>
              <td style={cellStyle}>{registry.get(row.tool)?.description}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        Hints are what each tool declares to clients (read-only, destructive, ...); they never grant or refuse access. The same
        map prints with <code>npm run inventory</code>.
      </p>
    </main>
  );
}
