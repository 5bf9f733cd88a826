import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** A process the local cluster runs. */
export interface ProcessSpec {
  /** Unique, e.g. "eu-west/api"; also names its log file. */
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

interface Running {
  spec: ProcessSpec;
  child: ChildProcess;
  exited: Promise<void>;
  log: string;
}

/**
 * Starts child processes with their output in one log file each, and stops
 * them in the reverse order of their start: SIGTERM, then SIGKILL for any
 * still running after the grace period.
 */
export class Supervisor {
  private readonly running: Running[] = [];
  private stopping = false;

  constructor(
    private readonly logDir: string,
    private readonly logger: Logger,
  ) {
    mkdirSync(logDir, { recursive: true });
  }

  start(spec: ProcessSpec): void {
    if (this.stopping) throw new Error('the cluster is stopping');
    const log = join(this.logDir, `${spec.name.replace(/\//g, '-')}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(spec.command, spec.args, { env: spec.env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        if (!this.stopping) this.logger.error({ process: spec.name, code, signal, log }, 'a cluster process exited');
        resolve();
      });
      child.once('error', (err) => {
        this.logger.error({ process: spec.name, err: err.message }, `could not start ${spec.command}`);
        resolve();
      });
    });
    this.running.push({ spec, child, exited, log });
  }

  /** The first process that has exited, if any (a cluster is only ready while all run). */
  exited(): { name: string; log: string } | undefined {
    const gone = this.running.find((r) => r.child.exitCode !== null || r.child.signalCode !== null || r.child.pid === undefined);
    return gone && { name: gone.spec.name, log: gone.log };
  }

  pids(): { name: string; pid: number }[] {
    return this.running.filter((r) => r.child.pid !== undefined).map((r) => ({ name: r.spec.name, pid: r.child.pid as number }));
  }

  async stopAll(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    for (const r of [...this.running].reverse()) {
      if (r.child.exitCode !== null || r.child.signalCode !== null || r.child.pid === undefined) continue;
      r.child.kill('SIGTERM');
      const timer = setTimeout(() => r.child.kill('SIGKILL'), graceMs);
      await r.exited;
      clearTimeout(timer);
    }
  }
}

/** The last lines of a log, for the message when a process dies. */
export function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
