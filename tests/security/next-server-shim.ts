/**
 * Stand-in for `next/server` when middleware.ts and the /mcp route are bundled for @edge-runtime/vm
 * (edge-methods.test.ts). Next's own Edge bundle provides the real module; what our code uses of it is
 * `NextResponse.next()` (a pass-through answer Next recognises by a header) and `after`.
 */
export const pending: Array<Promise<unknown>> = [];

export function after(task: Promise<unknown>): void {
  pending.push(task);
}

export const NextResponse = {
  next: (): Response => new Response(null, { headers: { 'x-middleware-next': '1' } }),
};
