/** @module SQLite's transient "database is locked" error, and retrying through it. */

/**
 * Run a KV operation, retrying while SQLite reports the file busy. Every `deno serve --parallel`
 * worker opens a new KV file at the same moment, and the first writes then often fail with
 * "database is locked"; giving up there left an isolate deaf to its siblings for its whole life.
 */
export async function retryLocked<T>(
  op: () => Promise<T>,
  stop: () => boolean = () => false,
  deadlineMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 0;; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!isLocked(err) || stop() || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, Math.min(200, 5 * 2 ** attempt) * Math.random()));
    }
  }
}

/** True for SQLite's transient "database is locked" (busy) error. */
export function isLocked(err: unknown): boolean {
  return err instanceof Error && /database is locked/i.test(err.message);
}
