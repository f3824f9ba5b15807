/**
 * Startup checks (Node runtime only): a bad environment or a misdeclared tool stops the server with
 * one line naming the problem, instead of surfacing later as 500s on /mcp.
 */
import { loadConfig } from './lib/config';
import { requestStateFor } from './lib/endpoint/request-state';

try {
  const config = loadConfig(process.env);
  const { registry } = await import('./tools');
  // Production with a primitive that asks for input and no MCP_REQUEST_STATE_KEY.
  requestStateFor(config, registry);
} catch (error) {
  console.error(`[startup] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
