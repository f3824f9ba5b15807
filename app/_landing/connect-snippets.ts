/**
 * How each MCP client connects to this server, for the landing page. The README's "Connect a client"
 * has the same snippets for http://localhost:3000/mcp (tests/unit/connect-snippets.test.ts keeps the
 * two equal). Plain data: the page renders it as text, so nothing here is HTML.
 */
export type ConnectSnippet = {
  id: 'inspector' | 'claude-desktop' | 'claude-code' | 'cursor' | 'vscode' | 'mcporter';
  client: string;
  /** Where the snippet goes and what to do next, in one or two sentences. */
  how: string;
  language: 'bash' | 'json';
  code: string;
};

/** The name the snippets file the server under; any name works. */
export const SERVER_NAME = 'edge-mcp';

export function connectSnippets(mcpUrl: string): ConnectSnippet[] {
  const url = JSON.stringify(mcpUrl);
  return [
    {
      id: 'inspector',
      client: 'MCP Inspector',
      how: `It opens http://127.0.0.1:6274 in your browser. Add Servers → + Add manually: any Server ID, Transport streamable-http, URL ${mcpUrl}, Add; then switch the server on. Calling a private tool sends you to sign in.`,
      language: 'bash',
      code: 'npx @modelcontextprotocol/inspector',
    },
    {
      id: 'claude-desktop',
      client: 'Claude Desktop (through mcp-remote)',
      how: 'In claude_desktop_config.json (Settings → Developer → Edit Config), then restart Claude Desktop. mcp-remote opens the sign-in page in your browser when a tool needs it.',
      language: 'json',
      code: `{
  "mcpServers": {
    "${SERVER_NAME}": {
      "command": "npx",
      "args": ["-y", "mcp-remote", ${url}]
    }
  }
}`,
    },
    {
      id: 'claude-code',
      client: 'Claude Code',
      how: 'Then run /mcp in Claude Code, pick the server and authenticate.',
      language: 'bash',
      code: `claude mcp add --transport http ${SERVER_NAME} ${mcpUrl}`,
    },
    {
      id: 'cursor',
      client: 'Cursor',
      how: 'In ~/.cursor/mcp.json (every project) or .cursor/mcp.json (this project).',
      language: 'json',
      code: `{
  "mcpServers": {
    "${SERVER_NAME}": { "url": ${url} }
  }
}`,
    },
    {
      id: 'vscode',
      client: 'VS Code',
      how: 'In .vscode/mcp.json (this workspace) or the user mcp.json (MCP: Open User Configuration).',
      language: 'json',
      code: `{
  "servers": {
    "${SERVER_NAME}": { "type": "http", "url": ${url} }
  }
}`,
    },
    {
      id: 'mcporter',
      client: 'mcporter',
      how: 'The first line records the server, with OAuth, in ~/.mcporter/mcporter.json; the first call opens the sign-in page in your browser (or prints the URL to visit), and later calls reuse the tokens.',
      language: 'bash',
      // --auth oauth: mcporter otherwise signs in only when connecting is refused, and connecting is public here.
      code: `npx mcporter config add ${SERVER_NAME} ${mcpUrl} --auth oauth --scope home
npx mcporter call ${SERVER_NAME}.whoami`,
    },
  ];
}
