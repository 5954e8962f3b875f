/**
 * At most `limit` operations at once against one domain controller; the rest wait in line, up to
 * `maxWaitMs`. A DC that is slow because we flood it is not a DC that is down: time spent in this
 * line never counts against the DC's own timeouts, so a burst of logons cannot trip the breaker.
 */
export class OperationLimiter {
  #running = 0;
  readonly #queue: Array<{ start: () => void; timer: NodeJS.Timeout }> = [];

  constructor(
    private readonly limit: number,
    private readonly maxWaitMs: number,
  ) {}

  async run<T>(operation: () => Promise<T>, onWaitTimeout: () => Error): Promise<T> {
    if (this.#running >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const entry = {
          start: resolve,
          timer: setTimeout(() => {
            this.#queue.splice(this.#queue.indexOf(entry), 1);
            reject(onWaitTimeout());
          }, this.maxWaitMs),
        };
        this.#queue.push(entry);
      });
    }
    this.#running++;
    try {
      return await operation();
    } finally {
      this.#running--;
      const next = this.#queue.shift();
      if (next) {
        clearTimeout(next.timer);
        next.start();
      }
    }
  }
}
