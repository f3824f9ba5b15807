/**
 * Stand-in for `next/server` inside the Edge VM test. In a real deployment Next's own Edge bundle
 * provides this module; esbuild would resolve its CommonJS dist, which assumes Node's __dirname.
 * The test proves our code and its libraries run on the Edge, so only `after` is needed here.
 */
export const pending: Array<Promise<unknown>> = [];

export function after(task: Promise<unknown>): void {
  pending.push(task);
}
