/**
 * Runs once when a Next.js server starts. A bad environment or a misdeclared tool stops the server
 * here with one line naming the problem, instead of surfacing later as 500s on /mcp.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  try {
    const { loadConfig } = await import('./lib/config');
    loadConfig(process.env);
    await import('./tools');
  } catch (error) {
    console.error(`[startup] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
