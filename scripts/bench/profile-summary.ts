import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`, e.g. `npm run bench -- --profile`):
 * self time by function and by file/package, and total (inclusive) time of our lib/ functions.
 *
 *   tsx scripts/bench/profile-summary.ts <file.cpuprofile | directory (newest profile)> [--top 30] [--filter text]
 */

type Node = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
};
type Profile = { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
let target = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (!target) {
  console.error('usage: tsx scripts/bench/profile-summary.ts <file.cpuprofile | dir> [--top N] [--filter text]');
  process.exit(2);
}
if (statSync(target).isDirectory()) {
  const files = readdirSync(target)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(target!, f))
    .sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs);
  if (!files[0]) throw new Error(`no .cpuprofile in ${target}`);
  target = files[0];
}
const top = Number(flag('top') ?? 30);
const filter = flag('filter');
const profile = JSON.parse(readFileSync(target, 'utf8')) as Profile;

// Time per sample (µs) attributed to the sampled node.
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const totalUs = [...selfUs.values()].reduce((s, v) => s + v, 0);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const cwd = process.cwd();
function where(url: string): string {
  if (!url) return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    return `${pkg} (${rest.slice(rest[0]!.startsWith('@') ? 2 : 1).join('/')})`;
  }
  if (path.startsWith('node:')) return path;
  return relative(cwd, path) || path;
}
const label = (n: Node) =>
  `${n.callFrame.functionName || '(anonymous)'}  ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const pct = (us: number) => `${((100 * us) / totalUs).toFixed(1).padStart(5)}%`;

function show(title: string, map: Map<string, number>, n = top): void {
  console.log(`\n${title}`);
  const rows = [...map]
    .filter(([k]) => !filter || k.includes(filter))
    .sort((x, y) => y[1] - x[1])
    .slice(0, n);
  for (const [k, us] of rows) console.log(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}

const selfByFunction = new Map<string, number>();
const selfByFile = new Map<string, number>();
const selfByPackage = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  const f = label(n);
  selfByFunction.set(f, (selfByFunction.get(f) ?? 0) + us);
  const file = where(n.callFrame.url);
  selfByFile.set(file, (selfByFile.get(file) ?? 0) + us);
  const pkg = file.includes(' (')
    ? file.slice(0, file.indexOf(' ('))
    : file.startsWith('lib/') || file.startsWith('tools/') || file.startsWith('scripts/')
      ? file.split('/')[0]!
      : n.callFrame.functionName.startsWith('(')
        ? n.callFrame.functionName
        : file;
  selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + us);
}

// Inclusive time per function (counted once per sample even under recursion).
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = label(byId.get(cur)!);
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
}

console.log(`${target}: ${(totalUs / 1000).toFixed(0)} ms sampled`);
show('self time by package / area', selfByPackage, 20);
show('self time by function', selfByFunction);
show('inclusive time, our code (lib/, tools/)', new Map([...inclusive].filter(([k]) => /\s(lib|tools)\//.test(k))));
show('inclusive time, everything', inclusive, top);
