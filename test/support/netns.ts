import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';

/**
 * Several "hosts" on one machine for the multi-host test: each a Linux network namespace with its
 * own address on a private bridge, so its processes share nothing with the others but the machine's
 * disk (which the test gives each host its own folders of) and reach the shared services (Temporal,
 * the object store, Postgres) only over that network, where the test can cut them off.
 *
 *   root namespace: bridge <BRIDGE_ADDRESS>/24 (the shared services listen here)
 *   host i:         eth0 10.200.0.<10+i>/24, lo, no default route (nothing leaves the machine)
 *
 * Names carry the creating process's id, base 36, so leftovers of a crashed run are recognised (their
 * process is gone) and removed by the next run, and a live run's network is never touched.
 */
export const BRIDGE_ADDRESS = '10.200.0.1';
const SUBNET_BITS = 24;
const FIRST_HOST_OCTET = 10;
/** Namespaces are `clerk-<pid36>-<host>`; links are `clkb<pid36>` (bridge) and `clkv<pid36>x<i>` (veth): at most 15 characters. */
const NAMESPACE_PREFIX = 'clerk-';
const LINK_PATTERN = /^clk[bv]([0-9a-z]+)(x\d+)?$/;

export interface Host {
  readonly name: string;
  /** Its address on the bridge, or 127.0.0.1 on the loopback fallback. */
  readonly address: string;
}

export interface HostNetwork {
  /** True with namespaces; false on the loopback fallback (no root): hosts are then only separate processes. */
  readonly isolated: boolean;
  /** Where the shared services must listen so every host reaches them. */
  readonly serviceAddress: string;
  readonly hosts: readonly Host[];
  host(name: string): Host;
  /** Starts `command args` inside the host, with `env` over this process's environment. */
  spawnIn(host: string, command: string, args: readonly string[], env?: Record<string, string>): ChildProcess;
  /** Takes the host's link down: its open connections stall and new ones time out. Namespaces only. */
  cut(host: string): void;
  restore(host: string): void;
  /** SIGKILLs every process of the host (its workers and their tesseract and pdftoppm children) and waits for them to die. */
  killHost(host: string): Promise<void>;
  /** Kills every host's processes and removes the namespaces and the bridge; safe to call twice. */
  close(): Promise<void>;
}

/** Whether this process may build namespaces: root, and `ip netns add` works (not in every container). */
export function canCreateNamespaces(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = `${NAMESPACE_PREFIX}${process.pid.toString(36)}-probe`;
  if (spawnSync('ip', ['netns', 'add', probe], { stdio: 'ignore' }).status !== 0) return false;
  spawnSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  return true;
}

/** Builds the hosts: namespaces on a bridge where it can (see canCreateNamespaces), else processes on loopback. */
export function createHostNetwork(names: readonly string[], options: { namespaces: boolean }): HostNetwork {
  return options.namespaces ? namespacedNetwork(names) : loopbackNetwork(names);
}

function namespacedNetwork(names: readonly string[]): HostNetwork {
  removeLeftoversOfCrashedRuns();
  const runId = process.pid.toString(36);
  const bridge = `clkb${runId}`;
  const namespaceOf = (host: string) => `${NAMESPACE_PREFIX}${runId}-${host}`;
  const vethOf = (index: number) => `clkv${runId}x${index}`;
  const hosts = names.map((name, index) => ({ name, address: `10.200.0.${FIRST_HOST_OCTET + index}`, index }));
  let closed = false;

  const close = async () => {
    if (closed) return;
    closed = true;
    process.off('exit', closeAtExit);
    for (const host of hosts) killNamespaceProcesses(namespaceOf(host.name));
    // Deleting a namespace deletes its end of the veth pair, and with it the root namespace's end.
    for (const host of hosts) ipQuietly('netns', 'del', namespaceOf(host.name));
    ipQuietly('link', 'del', bridge);
  };
  // If the test process dies without its afterAll, nothing is left running in the namespaces.
  const closeAtExit = () => void close();
  process.on('exit', closeAtExit);

  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${BRIDGE_ADDRESS}/${SUBNET_BITS}`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    for (const host of hosts) {
      const namespace = namespaceOf(host.name);
      ip('netns', 'add', namespace);
      ip('link', 'add', vethOf(host.index), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
      ip('link', 'set', vethOf(host.index), 'master', bridge);
      ip('link', 'set', vethOf(host.index), 'up');
      ip('-n', namespace, 'addr', 'add', `${host.address}/${SUBNET_BITS}`, 'dev', 'eth0');
      ip('-n', namespace, 'link', 'set', 'lo', 'up');
      ip('-n', namespace, 'link', 'set', 'eth0', 'up');
    }
  } catch (error) {
    void close();
    throw error;
  }

  const find = (name: string) => {
    const host = hosts.find((h) => h.name === name);
    if (!host) throw new Error(`no host named ${name}: the hosts are ${names.join(', ')}`);
    return host;
  };
  return {
    isolated: true,
    serviceAddress: BRIDGE_ADDRESS,
    hosts: hosts.map(({ name, address }) => ({ name, address })),
    host: (name) => ({ name, address: find(name).address }),
    spawnIn(host, command, args, env = {}) {
      // `ip netns exec` enters the namespace and then execs the command: the child's pid is the command's.
      return spawn('ip', ['netns', 'exec', namespaceOf(find(host).name), command, ...args], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    },
    cut: (host) => ip('link', 'set', vethOf(find(host).index), 'down'),
    restore: (host) => ip('link', 'set', vethOf(find(host).index), 'up'),
    async killHost(host) {
      const namespace = namespaceOf(find(host).name);
      killNamespaceProcesses(namespace);
      // A killed process leaves the namespace's process list before the kernel has closed its sockets:
      // wait for those too, so its peers (Postgres above all, where it may have held row locks) see
      // the connections end before a cut() could hide that from them.
      for (let polls = 0; polls < 400 && (namespacePids(namespace).length > 0 || establishedConnections(namespace) > 0); polls++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    close,
  };
}

/**
 * The fallback where namespaces cannot be made: every host is a group of processes on this
 * machine's loopback. They still have their own cache folders and share no storage folder, but
 * nothing can cut one off the network; killHost kills its process groups.
 */
function loopbackNetwork(names: readonly string[]): HostNetwork {
  const children = new Map<string, ChildProcess[]>(names.map((name) => [name, []]));
  const groupOf = (name: string) => {
    const group = children.get(name);
    if (!group) throw new Error(`no host named ${name}: the hosts are ${names.join(', ')}`);
    return group;
  };
  const killGroup = async (name: string) => {
    const running = groupOf(name).filter((child) => child.exitCode === null && child.signalCode === null);
    for (const child of running) {
      try {
        // Each child leads its own process group, so its tesseract and pdftoppm children die with it.
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await Promise.all(running.map((child) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)))));
  };
  return {
    isolated: false,
    serviceAddress: '127.0.0.1',
    hosts: names.map((name) => ({ name, address: '127.0.0.1' })),
    host(name) {
      groupOf(name);
      return { name, address: '127.0.0.1' };
    },
    spawnIn(host, command, args, env = {}) {
      const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      groupOf(host).push(child);
      return child;
    },
    cut() {
      throw new Error('cannot cut a host off the network on the loopback fallback: kill its processes instead');
    },
    restore() {},
    killHost: killGroup,
    async close() {
      for (const name of names) await killGroup(name);
    },
  };
}

/** Namespaces and links of this naming scheme whose creating process is gone. */
function removeLeftoversOfCrashedRuns(): void {
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter((name) => name.startsWith(NAMESPACE_PREFIX));
  for (const namespace of namespaces) {
    const runId = namespace.slice(NAMESPACE_PREFIX.length).split('-')[0]!;
    if (isAlive(runId)) continue;
    killNamespaceProcesses(namespace);
    ipQuietly('netns', 'del', namespace);
  }
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /^\d+: ([^:@]+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
  for (const link of links) {
    const runId = LINK_PATTERN.exec(link)?.[1];
    if (runId !== undefined && !isAlive(runId)) ipQuietly('link', 'del', link);
  }
}

function isAlive(runId: string): boolean {
  const pid = parseInt(runId, 36);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function namespacePids(namespace: string): number[] {
  const listed = spawnSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' });
  if (listed.status !== 0) return [];
  return listed.stdout.split('\n').filter(Boolean).map(Number);
}

function establishedConnections(namespace: string): number {
  const listed = spawnSync('ip', ['netns', 'exec', namespace, 'ss', '-Htn', 'state', 'established'], { encoding: 'utf8' });
  return listed.status === 0 ? listed.stdout.split('\n').filter(Boolean).length : 0;
}

function killNamespaceProcesses(namespace: string): void {
  for (const pid of namespacePids(namespace)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

function ip(...args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${(result.stderr || result.error?.message || '').trim()}`);
}

function ipQuietly(...args: string[]): void {
  spawnSync('ip', args, { stdio: 'ignore' });
}
