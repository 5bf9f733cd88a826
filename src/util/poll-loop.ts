/**
 * A background loop over batches: runs `step` (which moves up to one batch
 * and says how many items it moved) again at once after a full batch, after
 * `idleMs` otherwise, and after a growing pause (up to `maxErrorPauseMs`)
 * while it fails. `wake` cuts a pause short (new work is known to exist);
 * `stop` finishes the batch in hand, then ends the loop.
 */
export interface PollLoopOptions {
  idleMs: number;
  maxErrorPauseMs: number;
  batch: number;
  /** Told of the first failure of a run of failures (later ones are only counted). */
  onFailing(err: unknown): void;
  /** Told when a step succeeds after failures. */
  onRecovered(): void;
}

export class PollLoop {
  private running: Promise<void> | undefined;
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private woken = false;

  constructor(
    private readonly step: () => Promise<number>,
    private readonly o: PollLoopOptions,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      let pause = this.o.idleMs;
      this.woken = false;
      try {
        const moved = await this.step();
        if (failures > 0) this.o.onRecovered();
        failures = 0;
        if (moved >= this.o.batch) continue;
      } catch (err) {
        if (failures === 0) this.o.onFailing(err);
        failures++;
        pause = Math.min(this.o.idleMs * 2 ** failures, this.o.maxErrorPauseMs);
      }
      // Work announced during the step is picked up at once, not after the pause.
      if (this.woken && failures === 0) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
