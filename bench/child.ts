/**
 * The benchmark's processes: each TypeScript file runs in its own Node.js
 * process (so that no two contenders share an event loop) and talks back in
 * JSON lines on stdout. Lines that are not JSON are ignored.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface Child {
  readonly pid: number;
  /** The next JSON line (matching `pred`, when given); rejects if the process exits first. */
  line(pred?: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves when the process exits with 0; rejects on any other exit. */
  readonly exited: Promise<void>;
  /** SIGTERM, then waits for the exit (a killed child is not an error). */
  stop(): Promise<void>;
}

/**
 * Runs `file` with the TypeScript loader; `env` is added to this process's
 * environment; `cwd` is the tree it runs in (another build's, for an A/B).
 */
export function start(file: string, args: string[] = [], env: Record<string, string> = {}, stdout: 'pipe' | 'inherit' = 'pipe', cwd?: string): Child {
  const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', stdout, 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  const waiting: { pred?: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  let stopping = false;
  let buf = '';
  const offer = (l: Record<string, unknown>) => {
    const i = waiting.findIndex((w) => !w.pred || w.pred(l));
    if (i < 0) return lines.push(l);
    waiting.splice(i, 1)[0]!.resolve(l);
  };
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        offer(JSON.parse(text) as Record<string, unknown>);
      } catch {
        // Not a JSON line (a warning, say): not for us.
      }
    }
  });
  const exited = new Promise<void>((resolve, reject) => {
    proc.on('exit', (code, signal) => {
      const err = new Error(`${file} exited with ${code ?? signal}`);
      for (const w of waiting.splice(0)) w.reject(err);
      if (code === 0 || stopping) resolve();
      else reject(err);
    });
  });
  exited.catch(() => {});
  return {
    pid: proc.pid!,
    line(pred) {
      const i = lines.findIndex((l) => !pred || pred(l));
      if (i >= 0) return Promise.resolve(lines.splice(i, 1)[0]!);
      if (proc.exitCode !== null) return Promise.reject(new Error(`${file} has exited`));
      return new Promise((resolve, reject) => waiting.push({ pred, resolve, reject }));
    },
    exited,
    async stop() {
      stopping = true;
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited.catch(() => {});
    },
  };
}
