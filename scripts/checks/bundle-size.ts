import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { constants, gzipSync } from 'node:zlib';

/**
 * Edge bundle budget. After `next build`, reads .next/server/middleware-manifest.json, takes every
 * file of the `/mcp/route` Edge function (its `files`, plus `wasm` and `assets` entries if any),
 * gzips each one separately with node:zlib at level 9 and sums the results. The middleware is
 * measured the same way and printed for information only.
 *
 *   tsx scripts/checks/bundle-size.ts [--budget-kb 500] [--dir .next] [--verbose] [--json]
 *
 * Exit status: 0 within budget, 1 over budget, 2 when the build output is missing or unreadable.
 * KB = 1024 bytes.
 */

export type FunctionSize = {
  name: string;
  files: Array<{ file: string; bytes: number; gzipBytes: number }>;
  bytes: number;
  gzipBytes: number;
};
export type BundleReport = { dir: string; gzipLevel: number; mcp: FunctionSize; middleware?: FunctionSize };

type ManifestEntry = {
  files?: string[];
  wasm?: Array<{ filePath: string }>;
  assets?: Array<{ filePath: string }>;
  name?: string;
};
type Manifest = { middleware?: Record<string, ManifestEntry>; functions?: Record<string, ManifestEntry> };

export const MCP_FUNCTION = '/mcp/route';
const GZIP_LEVEL = constants.Z_BEST_COMPRESSION; // 9

function measure(name: string, entry: ManifestEntry, dir: string): FunctionSize {
  const paths = [
    ...(entry.files ?? []),
    ...(entry.wasm ?? []).map((w) => w.filePath),
    ...(entry.assets ?? []).map((a) => a.filePath),
  ];
  const files = [...new Set(paths)].map((file) => {
    const content = readFileSync(join(dir, file));
    return { file, bytes: content.byteLength, gzipBytes: gzipSync(content, { level: GZIP_LEVEL }).byteLength };
  });
  return {
    name,
    files,
    bytes: files.reduce((s, f) => s + f.bytes, 0),
    gzipBytes: files.reduce((s, f) => s + f.gzipBytes, 0),
  };
}

export function edgeBundleReport(dir = '.next'): BundleReport {
  const manifestPath = join(dir, 'server', 'middleware-manifest.json');
  statSync(manifestPath); // throws a clear ENOENT when there is no build
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  const mcp = manifest.functions?.[MCP_FUNCTION];
  if (!mcp) {
    throw new Error(
      `${manifestPath} has no "${MCP_FUNCTION}" Edge function (functions: ${Object.keys(manifest.functions ?? {}).join(', ') || 'none'})`,
    );
  }
  const middlewareEntry = Object.values(manifest.middleware ?? {})[0];
  return {
    dir,
    gzipLevel: GZIP_LEVEL,
    mcp: measure(MCP_FUNCTION, mcp, dir),
    ...(middlewareEntry ? { middleware: measure('middleware', middlewareEntry, dir) } : {}),
  };
}

export const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

function main(argv: string[]): number {
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i >= 0) return argv[i + 1];
    return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  };
  const budgetKb = Number(flag('budget-kb') ?? process.env.BUNDLE_BUDGET_KB ?? 500);
  if (!Number.isFinite(budgetKb) || budgetKb <= 0) {
    console.error(`[bundle] --budget-kb must be a positive number, got ${JSON.stringify(flag('budget-kb'))}`);
    return 2;
  }
  let report: BundleReport;
  try {
    report = edgeBundleReport(flag('dir') ?? '.next');
  } catch (error) {
    console.error(
      `[bundle] cannot read the build output: ${error instanceof Error ? error.message : String(error)} (run \`npx next build\` first)`,
    );
    return 2;
  }
  const { mcp, middleware } = report;
  const over = mcp.gzipBytes > budgetKb * 1024;
  if (argv.includes('--json')) {
    console.log(JSON.stringify({ ...report, budgetKb, over }, null, 2));
  } else {
    console.log(
      `[bundle] /mcp edge function: ${kb(mcp.gzipBytes)} gzipped (budget ${budgetKb} KB), ${kb(mcp.bytes)} raw, ${mcp.files.length} files, gzip level ${report.gzipLevel} per file`,
    );
    if (middleware)
      console.log(
        `[bundle] middleware (information): ${kb(middleware.gzipBytes)} gzipped, ${kb(middleware.bytes)} raw, ${middleware.files.length} files`,
      );
    if (argv.includes('--verbose')) {
      for (const f of [...mcp.files].sort((x, y) => y.gzipBytes - x.gzipBytes))
        console.log(`[bundle]   ${kb(f.gzipBytes).padStart(9)}  ${kb(f.bytes).padStart(9)} raw  ${f.file}`);
    }
    console.log(
      over
        ? `[bundle] FAIL: /mcp is ${kb(mcp.gzipBytes - budgetKb * 1024)} over the ${budgetKb} KB budget`
        : `[bundle] OK: ${kb(budgetKb * 1024 - mcp.gzipBytes)} under budget`,
    );
  }
  return over ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
