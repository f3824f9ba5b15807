/**
 * Settles with `work`, or rejects with `onTimeout()` after `ms`, whichever comes first; the timer
 * is always cleared. The one deadline race for outbound calls (directory lookups, the notes store).
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
