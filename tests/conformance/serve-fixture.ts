import { startFixtureServer } from './fixture-server';

/**
 * Serves the conformance fixture stack on 127.0.0.1 for a manual run of the suite:
 *   npx tsx tests/conformance/serve-fixture.ts
 *   npx conformance server --url <printed url> [--scenario <id>]
 * Ctrl+C stops it. Audit records are printed as JSON lines when AUDIT=1.
 */
const server = await startFixtureServer();
console.log(server.mcpUrl);
if (process.env.AUDIT === '1') {
  let printed = 0;
  setInterval(() => {
    for (const record of server.audit.slice(printed)) console.log(JSON.stringify({ audit: record }));
    printed = server.audit.length;
  }, 500).unref();
}
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
