import { spawn } from 'node:child_process';
import os from 'node:os';

export interface SubprocessOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** True when the deadline passed and the process was SIGKILLed. */
  timedOut: boolean;
  /** True when the caller's signal aborted and the process was SIGKILLed. */
  aborted?: boolean;
  /** The first message the child sent over IPC, if it had a channel and used it. */
  message: unknown;
  /** The tail of stderr: enough for an error message without buffering a chatty child's whole output. */
  stderr: string;
  /** The head of stdout (up to `stdoutLimit` characters), when asked for with `captureStdout`; otherwise empty. */
  stdout: string;
  /** True when stdout had more than `stdoutLimit` characters and the rest was dropped. */
  stdoutTruncated: boolean;
  /** Set when the command could not be started at all (ENOENT: not installed). */
  spawnError?: NodeJS.ErrnoException;
}

export interface SubprocessOptions {
  timeoutMs: number;
  ipc?: boolean;
  captureStdout?: boolean;
  /** How much of stdout `captureStdout` keeps, in characters; default 64,000. */
  stdoutLimit?: number;
  env?: NodeJS.ProcessEnv;
  /** Aborting SIGKILLs the process; the outcome then has `aborted` set. */
  signal?: AbortSignal;
  /**
   * Runs the process at this nice value (1-19: lower priority), for CPU-bound work that must
   * not crowd out the process's own event loop, the Temporal server or Postgres on the same cores.
   */
  niceness?: number;
}

const STDERR_TAIL_CHARS = 4000;
const STDOUT_HEAD_CHARS = 64_000;
/** After exit, how long to wait for stdio and IPC to drain before giving up on them. */
const DRAIN_GRACE_MS = 2000;

/**
 * Runs a command that may hang or crash (a PDF parser fed hostile input) with a hard deadline.
 * SIGKILL, not SIGTERM: a process stuck in a tight parsing loop may never handle a polite signal.
 */
export function runWithDeadline(
  command: string,
  args: readonly string[],
  options: SubprocessOptions,
): Promise<SubprocessOutcome> {
  const stdoutLimit = options.stdoutLimit ?? STDOUT_HEAD_CHARS;
  return new Promise((resolve) => {
    const stdout = options.captureStdout ? 'pipe' : 'ignore';
    const child = spawn(command, args, {
      stdio: options.ipc ? ['ignore', stdout, 'pipe', 'ipc'] : ['ignore', stdout, 'pipe'],
      ...(options.env ? { env: options.env } : {}),
    });
    if (options.niceness && child.pid !== undefined) {
      try {
        os.setPriority(child.pid, options.niceness);
      } catch {
        // The process has already ended, or this system forbids it: it runs at normal priority.
      }
    }
    let stderr = '';
    const stdoutChunks: string[] = [];
    let stdoutChars = 0;
    let stdoutTruncated = false;
    let message: unknown;
    let timedOut = false;
    let aborted = false;
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;

    const finish = (outcome: Omit<SubprocessOutcome, 'stderr' | 'stdout' | 'stdoutTruncated' | 'message' | 'timedOut'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(drainTimer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ ...outcome, timedOut, ...(aborted ? { aborted } : {}), message, stderr, stdout: stdoutChunks.join(''), stdoutTruncated });
    };

    const deadline = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      child.kill('SIGKILL');
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (stdoutChars >= stdoutLimit) {
        stdoutTruncated = true;
        return;
      }
      const kept = chunk.length > stdoutLimit - stdoutChars ? chunk.slice(0, stdoutLimit - stdoutChars) : chunk;
      if (kept.length < chunk.length) stdoutTruncated = true;
      stdoutChunks.push(kept);
      stdoutChars += kept.length;
    });
    child.on('message', (received) => {
      message ??= received;
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      // Only a failed spawn leaves no exit to wait for; other errors (a failed kill) are followed by one.
      if (child.pid === undefined) finish({ exitCode: null, signal: null, spawnError: error });
    });
    child.on('exit', (exitCode, signal) => {
      // A grandchild holding stderr open must not keep the caller waiting forever.
      drainTimer = setTimeout(() => finish({ exitCode, signal }), DRAIN_GRACE_MS);
    });
    child.on('close', (exitCode, signal) => finish({ exitCode, signal }));
  });
}
