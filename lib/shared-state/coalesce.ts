/**
 * One store round trip for the calls that arrive while the previous one is out. The first call
 * starts at once (no added wait when the isolate is quiet); calls that arrive while a batch is in
 * flight wait for it to settle and then start together, in one synchronous loop, so a client with
 * auto-pipelining sends their commands as one request. Every call still reaches the store before it
 * answers: nothing is counted locally or guessed.
 *
 * A queued call waits at most for the batch before it, and each task bounds its own time (the
 * limiter's timeout), so the longest wait is two of those.
 */
export function coalescing(): <T>(task: () => Promise<T>) => Promise<T> {
  let busy = false;
  let queue: Array<() => Promise<unknown>> = [];

  const startQueued = (): void => {
    const batch = queue;
    queue = [];
    if (batch.length === 0) {
      busy = false;
      return;
    }
    busy = true;
    // Started in one loop: their commands join the same pipeline.
    void Promise.allSettled(batch.map((start) => start())).then(startQueued);
  };

  return <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => {
        // A task that throws synchronously settles its own promise; it never stops the batch.
        let running: Promise<T>;
        try {
          running = task();
        } catch (error) {
          running = Promise.reject(error);
        }
        running.then(resolve, reject);
        return running;
      });
      if (!busy) startQueued();
    });
}
