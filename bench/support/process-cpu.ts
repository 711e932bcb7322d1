import fs from 'node:fs/promises';

/**
 * CPU seconds spent by processes, from /proc. A
 * process's own time and the time of its children it has waited for (cutime, cstime) both count,
 * so the tesseract runs of the OCR launcher show up under the launcher's name, and processes that
 * ended between two snapshots are still accounted for through their parent.
 *
 * Diagnostics only: on a 2-core machine whatever the worker, the Temporal server and Postgres
 * burn comes straight out of OCR, and this says who burnt it.
 */
export interface CpuSnapshot {
  /** pid → { name, parent pid, seconds: own + waited-for children }. */
  processes: Map<number, { name: string; ppid: number; seconds: number }>;
}

const CLOCK_TICKS_PER_SECOND = 100;

export async function snapshotCpu(): Promise<CpuSnapshot> {
  const processes = new Map<number, { name: string; ppid: number; seconds: number }>();
  for (const entry of await fs.readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // ended while listing
    }
    // The command name is in parentheses and may itself hold spaces or parentheses.
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const name = stat.slice(open + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    processes.set(pid, { name, ppid: Number(fields[1]), seconds: ticks / CLOCK_TICKS_PER_SECOND });
  }
  return { processes };
}

/**
 * CPU seconds of `root` and the processes it started (at any depth: the Temporal server, Postgres,
 * the process launcher and its tesseract runs), by command name, between two snapshots, largest
 * first (`otherRoots`: daemons it started that left its tree, such as a Postgres server). `root`
 * itself is reported under `rootLabel`. Processes outside the tree (other people's
 * work on a shared machine) are left out. A process that started after `before` counts from zero;
 * one that ended before `after` counts only through the parent that waited for it, from `before`.
 */
export function cpuSecondsOfTree(before: CpuSnapshot, after: CpuSnapshot, root: number, rootLabel: string, otherRoots: readonly number[] = []): Record<string, number> {
  const roots = new Set([root, ...otherRoots]);
  const inTree = (pid: number): boolean => {
    for (let at = pid, depth = 0; at > 1 && depth < 64; depth++) {
      if (roots.has(at)) return true;
      at = after.processes.get(at)?.ppid ?? 0;
    }
    return false;
  };
  const byName = new Map<string, number>();
  for (const [pid, now] of after.processes) {
    if (!inTree(pid)) continue;
    const then = before.processes.get(pid);
    const spent = now.seconds - (then && then.name === now.name ? then.seconds : 0);
    const name = pid === root ? rootLabel : now.name;
    if (spent > 0) byName.set(name, (byName.get(name) ?? 0) + spent);
  }
  // A process that ended since `before` is now all in its parent's waited-for time, including what
  // it had spent by `before`: that part was not spent in between (a Postgres backend of the run
  // before, closed during this one, put all its earlier work there), so it is taken off again.
  for (const [pid, then] of before.processes) {
    if (after.processes.has(pid) || !after.processes.has(then.ppid) || !inTree(then.ppid)) continue;
    const name = then.ppid === root ? rootLabel : after.processes.get(then.ppid)!.name;
    if (byName.has(name)) byName.set(name, Math.max(0, byName.get(name)! - then.seconds));
  }
  return Object.fromEntries([...byName].sort((a, b) => b[1] - a[1]).map(([name, seconds]) => [name, Math.round(seconds * 100) / 100]));
}

/** The pid of the Postgres server running on `dataDir` (the first line of its postmaster.pid), if any. */
export async function postmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await fs.readFile(`${dataDir}/postmaster.pid`, 'utf8')).split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
