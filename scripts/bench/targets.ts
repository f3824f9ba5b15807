import type { Round, ScenarioId } from './common';

/**
 * The performance targets `npm run bench` checks (issue "Lighter"), as data: run.ts turns each into
 * one PASS / FAIL / CANNOT DECIDE line per wire, and prints `targetsText` above them so the report
 * (and docs/PERFORMANCE.md, written from it) states the same limits the checks use.
 *
 * What users feel is judged where they feel it, over HTTP under `next start`; in process, where a
 * few microseconds show, the limits only guard against regressions of our own layers.
 */

/** A scenario row: its id and its variant (in process the audit sink or "peer", over HTTP the build). */
export type Row = { id: ScenarioId; variant: string };

export type Target = {
  /** Stable name of the check in the JSON. */
  key: string;
  where: 'over HTTP (edge)' | 'in process';
  role: 'target' | 'regression guard';
  /** The check is x ÷ y of paired rounds, on `metric`, against `limit`. */
  x: Row;
  y: Row;
  metric: keyof Pick<Round, 'rps' | 'p99'>;
  op: '>=' | '<=';
  limit: number;
  name: string;
};

export const TARGETS: readonly Target[] = [
  {
    key: 'http-c-rps-vs-p1',
    where: 'over HTTP (edge)',
    role: 'target',
    x: { id: 'c', variant: 'edge' },
    y: { id: 'p1', variant: 'edge' },
    metric: 'rps',
    op: '>=',
    limit: 0.95,
    name: '(c) throughput >= 0.95 x (p1), the minimal peer',
  },
  {
    key: 'http-c-p99-vs-b-pad',
    where: 'over HTTP (edge)',
    role: 'target',
    x: { id: 'c', variant: 'edge' },
    y: { id: 'b-pad', variant: 'edge' },
    metric: 'p99',
    op: '<=',
    limit: 1.2,
    name: "p99 of (c) <= 1.2 x p99 of (b-pad), the public call with a header of the token's size",
  },
  {
    key: 'http-c-traced-rps-vs-c',
    where: 'over HTTP (edge)',
    role: 'target',
    x: { id: 'c', variant: 'edge-traced' },
    y: { id: 'c', variant: 'edge' },
    metric: 'rps',
    op: '>=',
    limit: 0.95,
    name: '(c) with traces on, exported to a loopback OTLP collector, throughput >= 0.95 x (c) with traces off: tracing costs at most 5 %',
  },
  {
    key: 'http-c-governed-rps-vs-c',
    where: 'over HTTP (edge)',
    role: 'target',
    x: { id: 'c', variant: 'edge-governed' },
    y: { id: 'c', variant: 'edge' },
    metric: 'rps',
    op: '>=',
    limit: 0.9,
    name: '(c) with revocation and a rate limit on (a shared store on loopback) >= 0.90 x (c) without them: their whole cost at most 10 %',
  },
  {
    key: 'inproc-c-rps-vs-a',
    where: 'in process',
    role: 'regression guard',
    x: { id: 'c', variant: 'stdout' },
    y: { id: 'a', variant: 'no audit' },
    metric: 'rps',
    op: '>=',
    limit: 0.7,
    name: '(c) throughput >= 0.70 x (a), default stdout sink',
  },
  {
    key: 'inproc-d-rps-vs-a',
    where: 'in process',
    role: 'regression guard',
    x: { id: 'd', variant: 'stdout' },
    y: { id: 'a', variant: 'no audit' },
    metric: 'rps',
    op: '>=',
    limit: 0.85,
    name: '(d) tools/list throughput >= 0.85 x (a)',
  },
];

/**
 * Budgets the project has set for layers that do not exist yet. Stated in the report so the slot is
 * not forgotten, never checked: nothing measures them until the layers land.
 */
export const PENDING_BUDGETS: readonly string[] = [];

/** The targets as Markdown, for the report and docs/PERFORMANCE.md. */
export function targetsText(workosDelayMs: number): string {
  const bullets = (role: Target['role']) =>
    TARGETS.filter((t) => t.role === role).map((t) => `- ${t.where}: ${t.name}`);
  return [
    '### Targets (issue "Lighter")',
    '',
    'What users feel is the target: over HTTP under `next start` (the shipped Edge build), on both wires.',
    ...bullets('target'),
    '',
    'In process, regression guards only, on both wires:',
    ...bullets('regression guard'),
    '',
    `A figure, not a target: (p2) with the WorkOS stand-in holding every directory API answer ${workosDelayMs} ms ` +
      '(`--workos-delay-ms`), as a real `getUser` is an internet round trip, and (c) ÷ (p2) beside it.',
    '',
    ...(PENDING_BUDGETS.length ? ['Not checked yet:', ...PENDING_BUDGETS.map((b) => `- ${b}`), ''] : []),
    'Each check is PASS or FAIL only when its whole 95 % bootstrap interval over paired rounds is on one side of the limit; otherwise CANNOT DECIDE.',
  ].join('\n');
}
