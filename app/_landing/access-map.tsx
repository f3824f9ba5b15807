import { inventoryRows, primitiveRows } from '@/lib/inventory';
import type { Registry } from '@/lib/registry';
import { cell, scrollBox } from './styles';

/** The access map, row for row what `npm run inventory` prints. */
export function AccessMap({ registry }: { registry: Registry }) {
  return (
    <section>
      <h2>Tools and who may call them</h2>
      <div style={scrollBox}>
        <table id="access-map" style={{ borderCollapse: 'collapse', width: '100%' }}>
          <thead>
            <tr>
              <th style={cell}>tool</th>
              <th style={cell}>access</th>
              <th style={cell}>hints</th>
              <th style={cell}>description</th>
            </tr>
          </thead>
          <tbody>
            {inventoryRows(registry).map((row) => (
              <tr key={row.tool} data-tool={row.tool}>
                <td style={cell}>
                  <code>{row.tool}</code>
                </td>
                <td style={cell} data-field="access">
                  {row.access}
                </td>
                <td style={cell} data-field="annotations">
                  {row.annotations.join(', ') || '-'}
                </td>
                {/* A readable column on a phone: the table scrolls inside its box instead of squeezing this. */}
                <td style={{ ...cell, minWidth: '14rem' }}>{registry.get(row.tool)?.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p>
        Hints are what each tool declares to clients (read-only, destructive, ...); they never grant or refuse access.
        The same map prints with <code>npm run inventory</code>.
      </p>
      <PrimitiveMap registry={registry} />
    </section>
  );
}

/** Resources and prompts under the same policies, row for row the inventory's second table. */
function PrimitiveMap({ registry }: { registry: Registry }) {
  const rows = primitiveRows(registry);
  if (rows.length === 0) return null;
  return (
    <>
      <h2>Resources and prompts</h2>
      <div style={scrollBox}>
        <table id="primitive-map" style={{ borderCollapse: 'collapse', width: '100%' }}>
          <thead>
            <tr>
              <th style={cell}>kind</th>
              <th style={cell}>name</th>
              <th style={cell}>access</th>
              <th style={cell}>title</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={`${row.kind}:${row.name}`} data-primitive={`${row.kind}:${row.name}`}>
                <td style={cell}>{row.kind}</td>
                <td style={cell}>
                  <code>{row.uri ?? row.name}</code>
                </td>
                <td style={cell} data-field="access">
                  {row.access}
                </td>
                <td style={{ ...cell, minWidth: '14rem' }}>{row.title}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
