/**
 * What a process has opened so far, closed in reverse order. A start-up that
 * fails half-way closes what it had opened before it rethrows, so a failed
 * start leaves no pool, connection or timer behind.
 */
export class Resources {
  private readonly closers: (() => Promise<void> | void)[] = [];

  /** Registers `close` for `value` and returns the value. */
  add<T>(value: T, close: (value: T) => Promise<void> | void): T {
    this.closers.push(() => close(value));
    return value;
  }

  /** Closes everything registered, newest first; one closer failing does not stop the others. */
  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (const close of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length) throw new AggregateError(errors, 'closing resources failed');
  }

  /** Runs `open` (the steps of a start-up); on failure closes what they registered, then rethrows. */
  async unwindOnFailure<T>(open: () => Promise<T>): Promise<T> {
    try {
      return await open();
    } catch (err) {
      await this.close().catch(() => {});
      throw err;
    }
  }
}
