import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** The fenced code blocks of one language in the README, in order. */
export function readmeBlocks(language: string, file = README): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^ *```([\w-]*)\n([\s\S]*?)^ *```/gm)]
    .filter((m) => m[1] === language)
    .map((m) => m[2] ?? '');
}

const DesktopConfig = z.object({
  mcpServers: z.record(
    z.string(),
    z.object({ command: z.string(), args: z.array(z.string()), env: z.record(z.string(), z.string()).optional() }),
  ),
});
export type DesktopServer = z.infer<typeof DesktopConfig>['mcpServers'][string];

/** The README's Claude Desktop entry (the one JSON block naming mcp-remote), exactly as a user pastes it. */
export function readmeClaudeDesktopServer(file = README): DesktopServer {
  const blocks = readmeBlocks('json', file).filter((block) => block.includes('mcp-remote'));
  if (blocks.length !== 1)
    throw new Error(`README.md should have exactly one json block with mcp-remote, found ${blocks.length}`);
  const servers = Object.values(DesktopConfig.parse(JSON.parse(blocks[0]!)).mcpServers);
  if (servers.length !== 1)
    throw new Error(`the README's Claude Desktop config should list one server, found ${servers.length}`);
  return servers[0]!;
}
