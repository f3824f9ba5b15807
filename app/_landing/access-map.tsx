import { inventoryRows, primitiveRows } from '@/lib/inventory';
import type { Registry } from '@/lib/registry';
import { scrollBox, TABLE } from './styles';

/** The access map, row for row what `npm run inventory` prints. */
export function AccessMap({ registry }: { registry: Registry }) {
  return (
    <section>
      <h2>Tools and who may call them</h2>
      <div style={scrollBox}>
        <table id="access-map" className={TABLE}>
          <thead>
            <tr>
              <th>tool</th>
              <th>access</th>
              <th>callers</th>
              <th>rate limit</th>
              <th>live token</th>
              <th>hints</th>
              <th>description</th>
            </tr>
          </thead>
          <tbody>
            {inventoryRows(registry).map((row) => (
              <tr key={row.tool} data-tool={row.tool}>
                <td>
                  <code>{row.tool}</code>
                </td>
                <td data-field="access" data-label="access">
                  {row.access}
                </td>
                <td data-field="callers" data-label="callers">
                  {row.callers.join(', ')}
                </td>
                <td data-field="rate-limit" data-label="rate limit">
                  {row.rateLimit}
                </td>
                <td data-field="live-token" data-label="live token">
                  {row.liveToken ? 'introspected' : '-'}
                </td>
                <td data-field="annotations" data-label="hints">
                  {row.annotations.join(', ') || '-'}
                </td>
                {/* Never squeezed on a wide screen: the table scrolls inside its box instead; a phone stacks the row. */}
                <td className="prose">{registry.get(row.tool)?.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p>
        Hints are what each tool declares to clients (read-only, destructive, ...); they never grant or refuse access. A
        rate limit counts each caller's calls on every instance at once; a live token is checked with its issuer before
        each call, so a removed consent stops it within seconds. The same map prints with <code>npm run inventory</code>
        .
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
        <table id="primitive-map" className={TABLE}>
          <thead>
            <tr>
              <th>kind</th>
              <th>name</th>
              <th>access</th>
              <th>callers</th>
              <th>rate limit</th>
              <th>live token</th>
              <th>title</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={`${row.kind}:${row.name}`} data-primitive={`${row.kind}:${row.name}`}>
                <td data-label="kind">{row.kind}</td>
                <td data-label="name">
                  <code>{row.uri ?? row.name}</code>
                </td>
                <td data-field="access" data-label="access">
                  {row.access}
                </td>
                <td data-field="callers" data-label="callers">
                  {row.callers.join(', ')}
                </td>
                <td data-field="rate-limit" data-label="rate limit">
                  {row.rateLimit}
                </td>
                <td data-field="live-token" data-label="live token">
                  {row.liveToken ? 'introspected' : '-'}
                </td>
                <td className="prose">{row.title}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
