/**
 * `Promise.all(items.map(fn))` with at most `limit` calls of `fn` in flight, results in input order.
 * After a failure it starts no new call and waits for those in flight before rethrowing the first
 * error: a Lambda must not return with work still running, or it would resume in the next
 * invocation of a warm container. validate-input reads thousands of objects and the data-quality
 * gate runs Athena queries this way without opening thousands of sockets or queries.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`mapLimit: limit must be a positive integer, got ${limit}`);
  const results = new Array<R>(items.length);
  let next = 0;
  let firstError: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!firstError && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index], index);
      } catch (error) {
        firstError ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (firstError) throw firstError.error;
  return results;
}
