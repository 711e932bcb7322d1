/**
 * Child process: the launcher (launcher.ts). Starts the subprocesses its parent asks for and
 * answers each with its outcome. It is small, so forking from it is cheap, unlike forking from a
 * worker process of several hundred megabytes. It outlives no parent: when the IPC channel closes
 * it kills what it started and exits. It ignores SIGTERM and SIGINT, so a worker draining its
 * in-flight pages after a signal to its process group still has its launcher.
 */
import { runWithDeadline, type SubprocessOptions } from './subprocess.js';

interface Job {
  id: number;
  command: string;
  args: string[];
  options: Omit<SubprocessOptions, 'signal' | 'ipc'>;
}

const running = new Map<number, AbortController>();

process.on('SIGTERM', () => {});
process.on('SIGINT', () => {});
process.on('disconnect', () => {
  for (const controller of running.values()) controller.abort();
  // Give the kills a moment to be delivered.
  setTimeout(() => process.exit(0), 50);
});
process.on('message', (message: Job | { id: number; abort: true }) => {
  if ('abort' in message) {
    running.get(message.id)?.abort();
    return;
  }
  const controller = new AbortController();
  running.set(message.id, controller);
  void runWithDeadline(message.command, message.args, { ...message.options, signal: controller.signal }).then((outcome) => {
    running.delete(message.id);
    const { spawnError, ...rest } = outcome;
    const reply = { id: message.id, outcome: { ...rest, ...(spawnError ? { spawnError: { code: spawnError.code, message: spawnError.message } } : {}) } };
    if (process.connected) process.send!(reply);
  });
});
