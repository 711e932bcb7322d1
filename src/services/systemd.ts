/**
 * systemd units for clerk's workers: one service per worker type, each polling its own task queue,
 * grouped by clerk.target so `systemctl enable --now clerk.target` starts them all and
 * `systemctl stop clerk.target` stops them all. The Linux replacement for the original clerk's
 * macOS LaunchAgents.
 *
 * Pure: this module builds paths and unit text and touches nothing; `clerk workers install`
 * writes the files.
 */
import path from 'node:path';
import type { WorkerType } from '../activities/index.js';

/** System units (root, /etc/systemd/system) or units of the user's own manager (`--user`). */
export type SystemdScope = 'system' | 'user';

/**
 * How long systemd waits after SIGTERM before it sends SIGKILL. A worker drains its in-flight
 * activities for up to 30 s after SIGTERM (shutdownGraceTime in src/workers/create.ts), then closes
 * its connections; this leaves it twice that, as docker-compose.yml's stop_grace_period does.
 */
export const STOP_TIMEOUT_SECONDS = 60;

export const TARGET_NAME = 'clerk.target';

export function serviceName(type: WorkerType): string {
  return `clerk-worker-${type}.service`;
}

export interface UnitFile {
  /** The file name, e.g. clerk-worker-ocr.service. */
  name: string;
  text: string;
}

export interface SystemdUnitOptions {
  scope: SystemdScope;
  workerTypes: readonly WorkerType[];
  /** Absolute path of the node binary, e.g. process.execPath. */
  node: string;
  /** Absolute path of the clerk checkout: the working directory, with bin/clerk.mjs in it. */
  repoDir: string;
  /** Absolute path of the file of environment variables (DATABASE_URL, TEMPORAL_ADDRESS, ...). */
  environmentFile: string;
  /** System units only: the account the workers run as (none: root). */
  runAs?: string;
}

/** Where systemd looks for units of this scope. */
export function unitDirectory(scope: SystemdScope, env: { HOME?: string; XDG_CONFIG_HOME?: string }): string {
  if (scope === 'system') return '/etc/systemd/system';
  return path.join(configHome(env), 'systemd', 'user');
}

/** The default environment file: /etc/clerk/clerk.env, or ~/.config/clerk/clerk.env for `--user`. */
export function defaultEnvironmentFile(scope: SystemdScope, env: { HOME?: string; XDG_CONFIG_HOME?: string }): string {
  if (scope === 'system') return '/etc/clerk/clerk.env';
  return path.join(configHome(env), 'clerk', 'clerk.env');
}

function configHome(env: { HOME?: string; XDG_CONFIG_HOME?: string }): string {
  if (env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME)) return env.XDG_CONFIG_HOME;
  if (!env.HOME) throw new Error('HOME is not set, so there is no user configuration folder for --user units');
  return path.join(env.HOME, '.config');
}

/** The names of every file `clerk workers install --systemd` writes, in the order it writes them. */
export function unitFileNames(workerTypes: readonly WorkerType[]): string[] {
  return [...workerTypes.map(serviceName), TARGET_NAME];
}

/** One service per worker type, then clerk.target. */
export function systemdUnits(options: SystemdUnitOptions): UnitFile[] {
  for (const [name, value] of [
    ['node', options.node],
    ['repoDir', options.repoDir],
    ['environmentFile', options.environmentFile],
  ] as const) {
    if (!path.isAbsolute(value)) throw new Error(`${name} must be an absolute path, not ${value}`);
    if (/[\n\r]/.test(value)) throw new Error(`${name} must not contain a line break`);
  }
  if (options.runAs !== undefined && !/^[a-z_][a-z0-9_.-]*\$?$/i.test(options.runAs)) {
    throw new Error(`not a user name: ${options.runAs}`);
  }
  return [...options.workerTypes.map((type) => ({ name: serviceName(type), text: serviceUnit(type, options) })), { name: TARGET_NAME, text: targetUnit(options) }];
}

const HEADER = '# Written by `clerk workers install --systemd`; `clerk workers uninstall --systemd` removes it.';

function serviceUnit(type: WorkerType, options: SystemdUnitOptions): string {
  const system = options.scope === 'system';
  const lines = [
    HEADER,
    '[Unit]',
    `Description=clerk worker: ${type} task queue`,
    `Documentation=file://${escapeSpecifiers(encodeURI(path.join(options.repoDir, 'docs', 'OPERATIONS.md')))}`,
    // network-online.target is the system manager's; a user manager cannot order against it.
    ...(system ? ['Wants=network-online.target', 'After=network-online.target'] : []),
    // Stopping or restarting clerk.target stops or restarts every worker.
    `PartOf=${TARGET_NAME}`,
    '',
    '[Service]',
    'Type=simple',
    ...(system && options.runAs ? [`User=${options.runAs}`] : []),
    `WorkingDirectory=${escapeSpecifiers(options.repoDir)}`,
    `EnvironmentFile=${escapeSpecifiers(options.environmentFile)}`,
    `ExecStart=${[options.node, path.join(options.repoDir, 'bin', 'clerk.mjs'), 'worker', type].map(execArgument).join(' ')}`,
    `SyslogIdentifier=clerk-worker-${type}`,
    'Restart=on-failure',
    'RestartSec=5s',
    // SIGTERM to the worker alone: it drains in-flight activities, and the PDF and OCR subprocesses
    // those activities run must live until they finish. Whatever is left at the timeout is killed.
    'KillSignal=SIGTERM',
    'KillMode=mixed',
    `TimeoutStopSec=${STOP_TIMEOUT_SECONDS}s`,
    ...(system ? ['NoNewPrivileges=yes'] : []),
    '',
  ];
  return lines.join('\n');
}

function targetUnit(options: SystemdUnitOptions): string {
  const services = options.workerTypes.map(serviceName).join(' ');
  return [
    HEADER,
    '[Unit]',
    'Description=clerk workers: one service per task queue',
    `Documentation=file://${escapeSpecifiers(encodeURI(path.join(options.repoDir, 'docs', 'OPERATIONS.md')))}`,
    `Wants=${services}`,
    '',
    '[Install]',
    `WantedBy=${wantedBy(options.scope)}`,
    '',
  ].join('\n');
}

/** The environment file install creates when none exists: comments only, so every default holds. */
export function environmentFileTemplate(repoDir: string): string {
  return [
    '# clerk workers: environment for every clerk-worker-*.service (systemd EnvironmentFile syntax:',
    '# one NAME=value a line). Created empty by `clerk workers install --systemd`; uninstall keeps it.',
    `# Every variable is in the Configuration table of ${path.join(repoDir, 'README.md')}. Unset, the`,
    '# workers use the local stack of `clerk dev up` (its embedded Postgres and Temporal dev server) and',
    `# keep their data in ${path.join(repoDir, '.clerk')}; a fleet sets at least:`,
    '#',
    '# DATABASE_URL=postgres://clerk:secret@db.example.org:5432/clerk',
    '# TEMPORAL_ADDRESS=temporal.example.org:7233',
    '# TEMPORAL_NAMESPACE=default',
    '# CLERK_DATA_DIR=/var/lib/clerk',
    '',
  ].join('\n');
}

/** What to run after install, which this module never runs itself. */
export function enableCommand(scope: SystemdScope): string {
  const systemctl = scope === 'user' ? 'systemctl --user' : 'systemctl';
  return `${systemctl} daemon-reload && ${systemctl} enable --now ${TARGET_NAME}`;
}

/**
 * What to run around uninstall: stop the workers (running units stay loaded after their files go)
 * and make systemd forget the removed files.
 */
export function stopCommand(scope: SystemdScope, workerTypes: readonly WorkerType[]): string {
  const systemctl = scope === 'user' ? 'systemctl --user' : 'systemctl';
  return `${systemctl} stop ${[TARGET_NAME, ...workerTypes.map(serviceName)].join(' ')}; ${systemctl} daemon-reload`;
}

/**
 * The link `systemctl enable clerk.target` makes, relative to the unit folder. Uninstall removes it
 * too: once clerk.target's file is gone, `systemctl disable` can no longer find it.
 */
export function enableLinkPath(scope: SystemdScope): string {
  return path.join(`${wantedBy(scope)}.wants`, TARGET_NAME);
}

/** The target that starts clerk.target at boot (system) or at login (user). */
function wantedBy(scope: SystemdScope): string {
  return scope === 'system' ? 'multi-user.target' : 'default.target';
}

/** `%` starts a specifier in unit files (%h, %n...); a literal one is written `%%`. */
function escapeSpecifiers(value: string): string {
  return value.replace(/%/g, '%%');
}

/**
 * One word of ExecStart=: systemd splits the line on spaces, honours C-style double quotes, and
 * expands `%` specifiers and `$VARIABLES`, so a path with any of these is quoted and escaped.
 */
export function execArgument(value: string): string {
  const escaped = escapeSpecifiers(value).replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
