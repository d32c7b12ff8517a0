/**
 * `build`, run once per container and its result kept; a failure is not kept, so the next
 * invocation tries again (a bad setting fixed by a redeploy, a transient read error).
 */
export function onceUntilFailure<T>(build: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
