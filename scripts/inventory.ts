// The access map of the shipped tools, resources and prompts: who may use what, and which issuer/audience is trusted.
//
//   npm run inventory            Markdown table (paste into a review or the README)
//   npm run inventory -- --json  the same rows as JSON, with issuer and audiences
//   npm run inventory -- --expiring-within 14
//                                exit 2 when an approved client's approval ends within 14 days
//                                (default 30) or has ended: a CI gate, printed on stderr
//
// The configuration is read from the environment like the server reads it (development defaults
// when NODE_ENV is not "production"); a configuration error prints one line and exits 1.

import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '@/lib/config';
import { approvalsInForce } from '@/lib/auth/approvals';
import {
  type ApprovalRow,
  approvalRows,
  approvalsMarkdown,
  expiringApprovals,
  hierarchyLines,
  inventoryJson,
  inventoryMarkdown,
  type InventoryRow,
  inventoryRows,
  primitiveRows,
  primitivesMarkdown,
} from '@/lib/inventory';
import { registry } from '@/tools';

const USAGE = 'usage: tsx scripts/inventory.ts [--json] [--expiring-within <days>]';
/** Days before an approval ends that the inventory starts failing, unless --expiring-within says otherwise. */
const DEFAULT_EXPIRY_WINDOW_DAYS = 30;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function parseCli() {
  try {
    return parseArgs({
      options: {
        json: { type: 'boolean' },
        'expiring-within': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
}

function main(): void {
  const values = parseCli();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) fail(`[config] ${error.message}`);
    throw error;
  }
  const window =
    values['expiring-within'] === undefined ? DEFAULT_EXPIRY_WINDOW_DAYS : Number(values['expiring-within']);
  if (!Number.isInteger(window) || window < 0 || window > 3650)
    fail(`--expiring-within takes a whole number of days from 0 to 3650\n${USAGE}`);
  const rows = inventoryRows(registry);
  const approved = approvalRows(registry.approvals, config);
  if (values.json) {
    process.stdout.write(
      inventoryJson(rows, {
        issuer: config.issuer,
        audiences: config.audiences,
        resource: config.resourceUrl,
        scopeHierarchy: registry.scopeHierarchy,
        // null means any client the issuer registered may call (ALLOWED_CLIENT_IDS unset).
        approvedClients: config.allowedClientIds ?? null,
        approvals: approved,
        resourcesAndPrompts: primitiveRows(registry),
      }),
    );
  } else {
    printMarkdown(config, rows, approved);
  }
  // The CI gate: an approval that ends soon needs a review (renew it or remove it) before it breaks a job.
  const ending = expiringApprovals(approvalsInForce(registry.approvals, config), Date.now(), window);
  if (ending.length > 0) {
    process.stderr.write(
      `approvals ending within ${window} days: ${ending.map((a) => `${a.clientId} (${a.expires}, owner ${a.owner})`).join('; ')}\n`,
    );
    process.exitCode = 2;
  }
}

function printMarkdown(config: Config, rows: InventoryRow[], approved: ApprovalRow[]) {
  process.stdout.write(inventoryMarkdown(rows));
  const primitives = primitivesMarkdown(primitiveRows(registry));
  if (primitives) process.stdout.write(`\nResources and prompts:\n\n${primitives}`);
  // An https URL is a Client ID Metadata Document client: the issuer fetched its metadata from there.
  const interactive = approved.filter((row) => row.kind === 'interactive');
  const clients = interactive.length
    ? interactive
        .map((row) => (row.clientId.startsWith('https://') ? `${row.clientId} (metadata document)` : row.clientId))
        .join(', ')
    : 'any client registered with the issuer, for people (no interactive approval, ALLOWED_CLIENT_IDS unset); machines and agents only when approved';
  const hierarchy = hierarchyLines(registry.scopeHierarchy);
  process.stdout.write(
    `\nTrusted issuer: ${config.issuer}\nAudience: ${config.audiences.join(', ')}` +
      (config.environmentClientId ? `\nMachine tokens' audience: ${config.environmentClientId} (machines only)` : '') +
      `\nApproved clients: ${clients}\n` +
      `Scope hierarchy: ${hierarchy.length ? hierarchy.join('; ') : 'none (each scope grants only itself)'}\n`,
  );
  if (approved.length > 0) process.stdout.write(`\nApprovals:\n\n${approvalsMarkdown(approved)}`);
}

main();
