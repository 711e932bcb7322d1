import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compiledScript } from '../runtime/compiled-script.js';
import { runWithDeadline, type SubprocessOptions, type SubprocessOutcome } from './subprocess.js';

/**
 * Runs subprocesses (renderers, tesseract) from a small helper process instead of this one.
 * Forking copies the parent's page tables: from a worker process of 500+ MB that costs about
 * 10 ms of CPU a process (measured on the OCR benchmark's machine), from a 50 MB helper about 1 ms,
 * and an OCR page starts two or three processes. The outcome is the same as runWithDeadline's,
 * which the helper runs: exit code, signal (a renderer's SIGSEGV stays a SIGSEGV), stdout, stderr,
 * timeout, abort.
 *
 * The helper is started on first use and shared by the process. If it cannot be started, or dies,
 * calls in flight fail with a plain (retryable) Error and the next call starts a new one; after
 * launchDirectly(true) every call forks from this process as before.
 */
export function runLaunched(command: string, args: readonly string[], options: Omit<SubprocessOptions, 'ipc'>): Promise<SubprocessOutcome> {
  if (direct) return runWithDeadline(command, args, options);
  return launcher().run(command, args, options);
}

let direct = false;

/** Forks every later call from this process (true) or from the launcher (false, the default). */
export function launchDirectly(enabled: boolean): void {
  direct = enabled;
}

const childScript = fileURLToPath(new URL('./launcher-child.ts', import.meta.url));

interface Pending {
  child: ChildProcess;
  resolve: (outcome: SubprocessOutcome) => void;
  reject: (error: Error) => void;
}

class Launcher {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  run(command: string, args: readonly string[], options: Omit<SubprocessOptions, 'ipc'>): Promise<SubprocessOutcome> {
    const { signal, ...rest } = options;
    if (signal?.aborted) return runWithDeadline(command, args, options);
    const child = this.live();
    const id = this.nextId++;
    return new Promise<SubprocessOutcome>((resolve, reject) => {
      const onAbort = () => child.connected && child.send({ id, abort: true });
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = () => {
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
        if (![...this.pending.values()].some((p) => p.child === child)) unrefChild(child);
      };
      this.pending.set(id, {
        child,
        resolve: (outcome) => {
          settle();
          resolve(outcome);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      refChild(child);
      child.send({ id, command, args: [...args], options: rest }, (error) => {
        if (error) this.pending.get(id)?.reject(new Error(`the process launcher did not take ${command}: ${error.message}`));
      });
    });
  }

  private live(): ChildProcess {
    if (this.child && this.child.connected) return this.child;
    const child = spawn(process.execPath, [compiledScript(childScript)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.child = child;
    child.on('message', (message: { id: number; outcome: SubprocessOutcome & { spawnError?: { code?: string; message: string } } }) => {
      const { spawnError, ...outcome } = message.outcome;
      const restored: SubprocessOutcome = { ...outcome };
      if (spawnError) restored.spawnError = Object.assign(new Error(spawnError.message), { code: spawnError.code }) as NodeJS.ErrnoException;
      this.pending.get(message.id)?.resolve(restored);
    });
    const fail = (why: string) => {
      if (this.child === child) this.child = undefined;
      for (const pending of [...this.pending.values()].filter((p) => p.child === child)) pending.reject(new Error(`the process launcher ${why}; the subprocess it ran is lost, try again`));
    };
    child.on('error', (error) => fail(`failed: ${error.message}`));
    child.on('exit', (code, signal) => fail(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    unrefChild(child);
    return child;
  }
}

/** An idle launcher must not keep this process alive; a busy one must. */
function refChild(child: ChildProcess): void {
  child.ref();
  (child.channel as { ref?: () => void } | null | undefined)?.ref?.();
}

function unrefChild(child: ChildProcess): void {
  child.unref();
  (child.channel as { unref?: () => void } | null | undefined)?.unref?.();
}

let shared: Launcher | undefined;
function launcher(): Launcher {
  shared ??= new Launcher();
  return shared;
}
