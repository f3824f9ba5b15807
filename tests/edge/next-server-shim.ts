/**
 * Stand-in for `next/server` when middleware.ts and the /mcp route are bundled for @edge-runtime/vm
 * (or, in node-runtime-parity.test.ts, run in plain Node). In a deployment Next's own Edge bundle
 * provides this module; esbuild would resolve its CommonJS dist, which assumes Node's __dirname.
 * What our code uses of it: `after`, and `NextResponse.next()` (a pass-through answer Next
 * recognises by a header).
 */
export const pending: Array<Promise<unknown>> = [];

export function after(task: Promise<unknown>): void {
  pending.push(task);
}

export const NextResponse = {
  next: (): Response => new Response(null, { headers: { 'x-middleware-next': '1' } }),
};
