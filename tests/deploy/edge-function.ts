import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { EdgeVM } from '@edge-runtime/vm';
import { transformSync } from 'esbuild';
import { z } from 'zod';

/**
 * One Edge function of a Build Output API directory (`<name>.func`), run in `@edge-runtime/vm`
 * as Vercel runs it: its entrypoint's default export called as `(request, { waitUntil })`, with
 * the environment given plus the function's own `environment` from `.vc-config.json`, and Vercel
 * Edge's Node.js compatibility: the `AsyncLocalStorage` global and `require` of the five modules
 * below. Any other `require` throws, as it would on Vercel.
 */

const VcConfig = z.object({
  runtime: z.literal('edge'),
  entrypoint: z.string().min(1),
  environment: z.record(z.string(), z.string()).optional(),
});

const NODE_COMPAT = ['buffer', 'async_hooks', 'events', 'util', 'assert'] as const;
const nodeRequire = createRequire(import.meta.url);
// Both spellings: Vercel's own wrapper in the entrypoint asks for "async_hooks", Next's code for "node:…".
const compatModules = new Map<string, unknown>(
  NODE_COMPAT.flatMap((name) => {
    const module: unknown = nodeRequire(`node:${name}`);
    return [
      [name, module],
      [`node:${name}`, module],
    ];
  }),
);

const INVOKE_TIMEOUT_MS = 20_000;
const SETTLE_TIMEOUT_MS = 10_000;
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** The Response the isolate answers (another realm's class, so read through this shape). */
type VmResponse = {
  status: number;
  statusText: string;
  headers: { forEach(callback: (value: string, name: string) => void): void };
  text(): Promise<string>;
};

export type EdgeFunction = {
  /** A fetch that goes to this function, for `fetch` options of clients; the answer is buffered. */
  fetch(input: string | URL, init?: RequestInit): Promise<Response>;
  /** What the isolate wrote to the console (audit records, [config] lines), one entry per console call. */
  logs: string[];
};

/**
 * The entrypoint is an ES module and the VM runs scripts: esbuild rewrites only its module syntax
 * (the default export becomes `__vercelEntry.default`), a parser's job rather than a regex's, since
 * the bundle's strings hold code samples with `export` at the start of a line.
 */
function asScript(source: string): string {
  return transformSync(source, { format: 'iife', globalName: '__vercelEntry', loader: 'js', target: 'esnext' }).code;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function loadEdgeFunction(funcDir: string, env: Record<string, string>): EdgeFunction {
  const config = VcConfig.parse(JSON.parse(readFileSync(join(funcDir, '.vc-config.json'), 'utf8')));
  const entry = join(funcDir, config.entrypoint);
  const logs: string[] = [];
  const capture = (...args: unknown[]) => logs.push(args.map(String).join(' '));
  const vm = new EdgeVM({
    extend: (context) => {
      Object.assign(context, {
        process: { env: { ...env, ...config.environment } },
        AsyncLocalStorage,
        require: (id: string) => {
          if (!compatModules.has(id)) throw new TypeError(`Native module not found: ${id}`);
          return compatModules.get(id);
        },
        console: { ...context.console, log: capture, info: capture, warn: capture, error: capture, debug: capture },
      });
      return context;
    },
    initialCode: asScript(readFileSync(entry, 'utf8')),
  });
  vm.evaluate(
    'globalThis.__invoke = (url, init, waitUntil) => __vercelEntry.default(new Request(url, init), { waitUntil })',
  );
  const invoke = vm.context.__invoke as (
    url: string,
    init: { method: string; headers: Record<string, string>; body?: string },
    waitUntil: (task: Promise<unknown>) => void,
  ) => Promise<VmResponse>;

  return {
    logs,
    async fetch(input, init = {}) {
      if (init.body !== undefined && init.body !== null && typeof init.body !== 'string')
        throw new Error('the rehearsal sends string bodies only');
      const pending: Promise<unknown>[] = [];
      const answer = await withTimeout(
        invoke(
          String(input),
          {
            method: init.method ?? 'GET',
            headers: Object.fromEntries(new Headers(init.headers)),
            ...(typeof init.body === 'string' && { body: init.body }),
          },
          (task) => pending.push(task),
        ),
        INVOKE_TIMEOUT_MS,
        `${entry} answering ${init.method ?? 'GET'} ${String(input)}`,
      );
      const body = await withTimeout(answer.text(), INVOKE_TIMEOUT_MS, `${entry}'s response body`);
      // The platform keeps the isolate alive for waitUntil work (the audit flush): so does this.
      await withTimeout(Promise.allSettled(pending), SETTLE_TIMEOUT_MS, `${entry}'s waitUntil tasks`);
      const headers = new Headers();
      answer.headers.forEach((value, name) => {
        headers.append(name, value);
      });
      return new Response(NULL_BODY_STATUSES.has(answer.status) ? null : body, {
        status: answer.status,
        statusText: answer.statusText,
        headers,
      });
    },
  };
}
