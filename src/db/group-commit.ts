// Group commit, for any store: items that arrive while earlier batches are being written (or in
// the same turn of the event loop) are written together, in one transaction and so one fsync,
// and each caller's promise settles only when `write` settles it, after that commit. A 202 still
// means "on disk"; N concurrent publishers share the sync. No SQL here: the store gives the
// write. Unit-tested in test/db/group-commit.test.ts with a driven `defer`.

/** One queued item; `write` settles it exactly once (settling twice is a no-op). */
export interface GroupEntry<I, R> {
  readonly item: I;
  resolve(result: R): void;
  reject(err: unknown): void;
}

export interface GroupCommitOptions<I> {
  /** Items per batch at most: big enough to amortise the sync, small enough to keep each write short. */
  maxItems: number;
  /** `sizeOf` summed over a batch at most; a batch takes one item at least, whatever its size. */
  maxSize: number;
  sizeOf(item: I): number;
  /**
   * Batches handed to `write` and not settled yet, at most. Two: the writer has the next batch
   * as soon as it committed one, and the rest of the queue grows meanwhile.
   */
  inFlight: number;
  /** Runs `fn` after the current turn of the event loop (setImmediate); tests drive it. */
  defer?: (fn: () => void) => void;
}

export interface GroupCommit<I, R> {
  /** Queues the item; settles when the batch that carried it was written. */
  submit(item: I): Promise<R>;
  /** Settles everything queued or in flight (before the store closes its connection). */
  drain(): Promise<void>;
}

/**
 * `write` must settle every entry of its batch (a failing item can be rejected alone); if it
 * throws or rejects, every entry of the batch it has not settled is rejected with that error.
 */
export function groupCommit<I, R>(
  write: (batch: GroupEntry<I, R>[]) => Promise<void>,
  opts: GroupCommitOptions<I>,
): GroupCommit<I, R> {
  const defer = opts.defer ?? ((fn: () => void) => void setImmediate(fn));
  const queue: GroupEntry<I, R>[] = [];
  let scheduled = false;
  let writing = 0;
  const settled = new Set<Promise<void>>();

  async function writeBatch(batch: GroupEntry<I, R>[]): Promise<void> {
    try {
      await write(batch);
    } catch (err) {
      for (const e of batch) e.reject(err);
    }
  }

  /** The head of the queue, up to maxItems items and maxSize (one item at least). */
  function nextBatch(): GroupEntry<I, R>[] {
    let n = 0;
    let size = 0;
    while (n < queue.length && n < opts.maxItems) {
      size += opts.sizeOf((queue[n] as GroupEntry<I, R>).item);
      if (n > 0 && size > opts.maxSize) break;
      n++;
    }
    return queue.splice(0, n);
  }

  // One batch is started per deferred turn: everything submitted before it runs joins it.
  function kick(): void {
    if (scheduled || writing >= opts.inFlight || queue.length === 0) return;
    scheduled = true;
    defer(() => {
      scheduled = false;
      if (writing >= opts.inFlight || queue.length === 0) return;
      writing++;
      const done = writeBatch(nextBatch()).finally(() => {
        writing--;
        settled.delete(done);
        kick();
      });
      settled.add(done);
      kick();
    });
  }

  return {
    submit(item: I): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        kick();
      });
    },
    async drain(): Promise<void> {
      while (settled.size > 0 || queue.length > 0) {
        kick();
        await Promise.all([...settled, new Promise<void>((r) => defer(r))]);
      }
    },
  };
}
