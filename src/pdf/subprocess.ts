import { spawn } from 'node:child_process';

export interface SubprocessOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** True when the deadline passed and the process was SIGKILLed. */
  timedOut: boolean;
  /** The first message the child sent over IPC, if it had a channel and used it. */
  message: unknown;
  /** The tail of stderr: enough for an error message without buffering a chatty child's whole output. */
  stderr: string;
  /** The head of stdout, when asked for with `captureStdout`; otherwise empty. */
  stdout: string;
  /** Set when the command could not be started at all (ENOENT: not installed). */
  spawnError?: NodeJS.ErrnoException;
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
  options: { timeoutMs: number; ipc?: boolean; captureStdout?: boolean },
): Promise<SubprocessOutcome> {
  return new Promise((resolve) => {
    const stdout = options.captureStdout ? 'pipe' : 'ignore';
    const child = spawn(command, args, {
      stdio: options.ipc ? ['ignore', stdout, 'pipe', 'ipc'] : ['ignore', stdout, 'pipe'],
    });
    let stderr = '';
    let stdoutHead = '';
    let message: unknown;
    let timedOut = false;
    let settled = false;
    let drainTimer: NodeJS.Timeout | undefined;

    const finish = (outcome: Omit<SubprocessOutcome, 'stderr' | 'stdout' | 'message' | 'timedOut'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(drainTimer);
      resolve({ ...outcome, timedOut, message, stderr, stdout: stdoutHead });
    };

    const deadline = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);

    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (stdoutHead.length < STDOUT_HEAD_CHARS) stdoutHead = (stdoutHead + chunk).slice(0, STDOUT_HEAD_CHARS);
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
