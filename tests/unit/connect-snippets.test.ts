import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectSnippets } from '@/app/_landing/connect-snippets';
import { PROJECT_ROOT } from '../helpers/edge';

/**
 * The README's "Connect a client" and the landing page show the same snippets: the page renders
 * connectSnippets(<configured URL>), the README has them for http://localhost:3000/mcp.
 */
const README_URL = 'http://localhost:3000/mcp';
const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
const fenced = [...readme.matchAll(/^```(\w*)\n([\s\S]*?)\n```$/gm)].map((m) => ({ language: m[1]!, code: m[2]! }));

describe('connect snippets', () => {
  it('are in the README verbatim, each in a fenced block of its language', () => {
    expect(fenced.length).toBeGreaterThan(5);
    for (const snippet of connectSnippets(README_URL)) {
      expect(fenced, snippet.id).toContainEqual({ language: snippet.language, code: snippet.code });
    }
  });

  it('are valid JSON where they are JSON, and carry the URL they were made for', () => {
    const url = 'https://mcp.example.com/mcp';
    for (const snippet of connectSnippets(url)) {
      if (snippet.language === 'json') expect(() => JSON.parse(snippet.code), snippet.id).not.toThrow();
      expect(`${snippet.code} ${snippet.how}`, snippet.id).toContain(url);
    }
  });

  it('give Claude Desktop one mcp-remote command line, the only such JSON block in the README', () => {
    const blocks = fenced.filter((b) => b.language === 'json' && b.code.includes('mcp-remote'));
    expect(blocks).toHaveLength(1);
    expect(JSON.parse(blocks[0]!.code)).toEqual({
      mcpServers: { 'edge-mcp': { command: 'npx', args: ['-y', 'mcp-remote', README_URL] } },
    });
  });
});
