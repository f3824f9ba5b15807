import type { ApprovalRow } from '@/lib/inventory';
import { scrollBox, TABLE } from './styles';

/** The approved clients, row for row the inventory's "Approvals" table: who owns each, for what, until when. */
export function ApprovalsTable({ rows }: { rows: readonly ApprovalRow[] }) {
  if (rows.length === 0) return null;
  return (
    <section>
      <h2>Approved clients</h2>
      <div style={scrollBox}>
        <table id="approvals" className={TABLE}>
          <thead>
            <tr>
              <th>client</th>
              <th>kind</th>
              <th>owner</th>
              <th>scope ceiling</th>
              <th>expires</th>
              <th>purpose</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.clientId} data-client={row.clientId}>
                <td data-label="client">
                  <code>{row.clientId}</code>
                </td>
                <td data-field="kind" data-label="kind">
                  {row.kind}
                </td>
                <td data-field="owner" data-label="owner">
                  {row.source === 'ALLOWED_CLIENT_IDS' ? 'ALLOWED_CLIENT_IDS' : row.owner}
                </td>
                <td data-field="scopes" data-label="scope ceiling">
                  {row.scopes === null ? 'none' : row.scopes.join(' ')}
                </td>
                <td data-field="expires" data-label="expires">
                  {row.expires ?? 'never'}
                </td>
                <td className="prose">{row.purpose}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
