/**
 * Startup checks (Node runtime only): a bad environment or a misdeclared tool stops the server with
 * one line naming the problem, instead of surfacing later as 500s on /mcp.
 */
import { loadConfig } from './lib/config';

try {
  loadConfig(process.env);
  await import('./tools');
} catch (error) {
  console.error(`[startup] ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
