// The access map of the shipped tools, resources and prompts: who may use what, and which issuer/audience is trusted.
//
//   npm run inventory            Markdown table (paste into a review or the README)
//   npm run inventory -- --json  the same rows as JSON, with issuer and audiences
//
// The configuration is read from the environment like the server reads it (development defaults
// when NODE_ENV is not "production"); a configuration error prints one line and exits 1.

import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '@/lib/config';
import {
  hierarchyLines,
  inventoryJson,
  inventoryMarkdown,
  inventoryRows,
  primitiveRows,
  primitivesMarkdown,
} from '@/lib/inventory';
import { registry } from '@/tools';

const USAGE = 'usage: tsx scripts/inventory.ts [--json]';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function parseCli() {
  try {
    return parseArgs({
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
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
  const rows = inventoryRows(registry);
  if (values.json) {
    process.stdout.write(
      inventoryJson(rows, {
        issuer: config.issuer,
        audiences: config.audiences,
        resource: config.resourceUrl,
        scopeHierarchy: registry.scopeHierarchy,
        // null means any client the issuer registered may call (ALLOWED_CLIENT_IDS unset).
        approvedClients: config.allowedClientIds ?? null,
        resourcesAndPrompts: primitiveRows(registry),
      }),
    );
    return;
  }
  process.stdout.write(inventoryMarkdown(rows));
  const primitives = primitivesMarkdown(primitiveRows(registry));
  if (primitives) process.stdout.write(`\nResources and prompts:\n\n${primitives}`);
  // An https URL is a Client ID Metadata Document client: the issuer fetched its metadata from there.
  const clients =
    config.allowedClientIds?.map((id) => (id.startsWith('https://') ? `${id} (metadata document)` : id)).join(', ') ??
    'any client registered with the issuer (ALLOWED_CLIENT_IDS unset)';
  const hierarchy = hierarchyLines(registry.scopeHierarchy);
  process.stdout.write(
    `\nTrusted issuer: ${config.issuer}\nAudience: ${config.audiences.join(', ')}\nApproved clients: ${clients}\n` +
      `Scope hierarchy: ${hierarchy.length ? hierarchy.join('; ') : 'none (each scope grants only itself)'}\n`,
  );
}

main();
