/** A loop started by `repeat`. */
export interface Repeating {
  stop(): void;
}

/**
 * Runs `round` now, then again `delayMs()` after each round ends, until
 * stopped. Rounds never overlap, however long one takes, and the timer does
 * not keep the process alive. `round` must not throw.
 */
export function repeat(round: () => Promise<void>, delayMs: () => number): Repeating {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const run = async () => {
    await round();
    if (stopped) return;
    timer = setTimeout(run, delayMs());
    timer.unref();
  };
  void run();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
