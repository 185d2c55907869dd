/**
 * `work` for each item of `source`, at most `concurrency` at once, its results yielded as they complete (in any
 * order). An item is taken from the source only while fewer than `concurrency` are in work or held by the consumer
 * (a result counts until the consumer asks for the next one), so memory holds `concurrency` items, and with a
 * concurrency of 1 the next item is not even asked for before the consumer is done with the last result.
 * `stop` is asked before each item is taken. Everything started is waited for, whether the loop ends, stops or fails.
 */
export async function* mapConcurrently<T, R>(
  source: AsyncIterable<T>,
  concurrency: number,
  work: (item: T) => Promise<R>,
  stop: () => boolean = () => false
): AsyncGenerator<R> {
  const items = source[Symbol.asyncIterator]();
  const inFlight = new Map<number, Promise<{ key: number; result: R }>>();
  let taken = 0;
  let exhausted = false;
  try {
    for (;;) {
      while (!exhausted && inFlight.size < concurrency) {
        const next = stop() ? undefined : await items.next();
        if (!next || next.done) {
          exhausted = true;
          break;
        }
        const key = taken++;
        inFlight.set(
          key,
          work(next.value).then((result) => ({ key, result }))
        );
      }
      if (!inFlight.size) {
        return;
      }
      const { key, result } = await Promise.race(inFlight.values());
      inFlight.delete(key);
      yield result;
    }
  } finally {
    await Promise.allSettled(inFlight.values());
    if (!exhausted) {
      await items.return?.();
    }
  }
}
