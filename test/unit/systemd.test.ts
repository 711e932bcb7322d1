import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommanderError, type Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { workerTypes } from '../../src/activities/index.js';
import { workersCommand } from '../../src/cli/commands/workers.js';
import { CliError } from '../../src/cli/context.js';
import { enableCommand, execArgument, STOP_TIMEOUT_SECONDS, systemdUnits, unitFileNames, type UnitFile } from '../../src/services/systemd.js';

const root = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const UNIT_NAMES = [...workerTypes.map((type) => `clerk-worker-${type}.service`), 'clerk.target'];
const systemdAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).stdout.trim();
if (!systemdAnalyze) console.warn('systemd.test: systemd-analyze is not installed (apt-get install systemd); skipping `systemd-analyze verify` of the units');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-systemd-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The CLI as an operator runs it, with HOME in the temp folder and no SUDO_USER. */
function clerk(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: path.join(dir, 'home'), XDG_CONFIG_HOME: '' };
  delete env.SUDO_USER;
  const run = spawnSync(process.execPath, [path.join(root, 'bin/clerk.mjs'), 'workers', ...args], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The same command in this process (faster than a CLI start), with what it prints. */
async function workersInProcess(args: string[]): Promise<{ stdout: string; error?: unknown }> {
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...line: unknown[]) => void printed.push(line.join(' ')));
  const quiet = (command: Command): Command => {
    command.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    command.commands.forEach(quiet);
    return command;
  };
  let error: unknown;
  try {
    await quiet(workersCommand()).parseAsync(args, { from: 'user' });
  } catch (thrown) {
    error = thrown;
  } finally {
    log.mockRestore();
  }
  return { stdout: printed.map((line) => `${line}\n`).join(''), error };
}

function unit(units: UnitFile[], name: string): string {
  const found = units.find((u) => u.name === name);
  if (!found) throw new Error(`no unit ${name}`);
  return found.text;
}

/** The values of `key=` in a unit's text, in order. */
function values(text: string, key: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

function verify(files: string[], scope: 'system' | 'user') {
  // A user manager needs a runtime folder; verify only needs one to exist.
  const runtime = fs.mkdtempSync(path.join(dir, 'runtime-'));
  const run = spawnSync(systemdAnalyze, [...(scope === 'user' ? ['--user'] : []), 'verify', ...files], {
    env: { ...process.env, XDG_RUNTIME_DIR: runtime },
    encoding: 'utf8',
    timeout: 60_000,
  });
  // verify exits 0 on warnings such as an unknown key: a line naming one of our files is a failure too.
  const complaints = run.stderr.split('\n').filter((line) => UNIT_NAMES.some((name) => line.includes(name)));
  return { code: run.status, stderr: run.stderr, complaints };
}

describe('systemd units (pure)', () => {
  const options = { workerTypes, node: '/usr/bin/node', repoDir: '/srv/clerk', environmentFile: '/etc/clerk/clerk.env' };

  it('writes one service per worker type and clerk.target over them', () => {
    const units = systemdUnits({ ...options, scope: 'system' });
    expect(units.map((u) => u.name)).toEqual(UNIT_NAMES);
    expect(unitFileNames(workerTypes)).toEqual(UNIT_NAMES);
    const target = unit(units, 'clerk.target');
    expect(values(target, 'Wants')).toEqual([UNIT_NAMES.slice(0, -1).join(' ')]);
    expect(values(target, 'WantedBy')).toEqual(['multi-user.target']);
  });

  it('runs `node bin/clerk.mjs worker <type>` in the repository, restarts on failure and stops gracefully', () => {
    const units = systemdUnits({ ...options, scope: 'system', runAs: 'clerk' });
    for (const type of workerTypes) {
      const text = unit(units, `clerk-worker-${type}.service`);
      expect(values(text, 'ExecStart')).toEqual([`/usr/bin/node /srv/clerk/bin/clerk.mjs worker ${type}`]);
      expect(values(text, 'WorkingDirectory')).toEqual(['/srv/clerk']);
      expect(values(text, 'EnvironmentFile')).toEqual(['/etc/clerk/clerk.env']);
      expect(values(text, 'Restart')).toEqual(['on-failure']);
      expect(values(text, 'KillSignal')).toEqual(['SIGTERM']);
      expect(values(text, 'PartOf')).toEqual(['clerk.target']);
      expect(values(text, 'User')).toEqual(['clerk']);
      // Above the worker's 30 s drain grace (shutdownGraceTime in src/workers/create.ts).
      expect(values(text, 'TimeoutStopSec')).toEqual([`${STOP_TIMEOUT_SECONDS}s`]);
      expect(STOP_TIMEOUT_SECONDS).toBeGreaterThan(30);
    }
  });

  it('user units have no User= and start with the login session', () => {
    const units = systemdUnits({ ...options, scope: 'user', runAs: 'ignored' });
    expect(values(unit(units, 'clerk-worker-ocr.service'), 'User')).toEqual([]);
    expect(values(unit(units, 'clerk-worker-ocr.service'), 'After')).toEqual([]);
    expect(values(unit(units, 'clerk.target'), 'WantedBy')).toEqual(['default.target']);
    expect(enableCommand('user')).toBe('systemctl --user daemon-reload && systemctl --user enable --now clerk.target');
    expect(enableCommand('system')).toBe('systemctl daemon-reload && systemctl enable --now clerk.target');
  });

  it('quotes and escapes paths systemd would split or expand', () => {
    expect(execArgument('/opt/node-20/bin/node')).toBe('/opt/node-20/bin/node');
    expect(execArgument('/home/a b/clerk')).toBe('"/home/a b/clerk"');
    expect(execArgument('/srv/100%/$HOME')).toBe('"/srv/100%%/$$HOME"');
    const units = systemdUnits({ ...options, scope: 'system', repoDir: '/srv/my clerk' });
    expect(values(unit(units, 'clerk-worker-fetch.service'), 'ExecStart')).toEqual(['/usr/bin/node "/srv/my clerk/bin/clerk.mjs" worker fetch']);
    expect(() => systemdUnits({ ...options, scope: 'system', repoDir: 'relative/clerk' })).toThrow(/absolute/);
  });
});

describe('clerk workers install|uninstall --systemd', () => {
  it('--dry-run prints the six files and writes nothing', async () => {
    const units = path.join(dir, 'dry');
    const run = await workersInProcess(['install', '--systemd', '--dry-run', '--output-dir', units, '--environment-file', path.join(dir, 'dry-env', 'clerk.env')]);
    expect(run.error).toBeUndefined();
    for (const name of UNIT_NAMES) expect(run.stdout).toContain(`# ${path.join(units, name)}\n`);
    expect(run.stdout).toContain('ExecStart=');
    expect(run.stdout).toContain('systemctl daemon-reload && systemctl enable --now clerk.target');
    expect(fs.existsSync(units)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'dry-env'))).toBe(false);
  });

  it('installs six units and an environment file, then uninstall removes exactly the six', () => {
    const units = path.join(dir, 'system');
    const environmentFile = path.join(dir, 'etc', 'clerk.env');
    fs.mkdirSync(units, { recursive: true });
    fs.writeFileSync(path.join(units, 'other.service'), '[Service]\nExecStart=/bin/true\n');

    const install = clerk(['install', '--systemd', '--output-dir', units, '--environment-file', environmentFile]);
    expect(install.code, install.stderr).toBe(0);
    expect(fs.readdirSync(units).sort()).toEqual([...UNIT_NAMES, 'other.service'].sort());
    const ocr = fs.readFileSync(path.join(units, 'clerk-worker-ocr.service'), 'utf8');
    expect(values(ocr, 'ExecStart')).toEqual([`${process.execPath} ${root}/bin/clerk.mjs worker ocr`]);
    expect(values(ocr, 'WorkingDirectory')).toEqual([root]);
    expect(values(ocr, 'EnvironmentFile')).toEqual([environmentFile]);
    expect(values(ocr, 'User')).toEqual([]); // no --run-as and no SUDO_USER
    expect(fs.readFileSync(environmentFile, 'utf8')).toMatch(/^# clerk workers/);
    expect(fs.statSync(environmentFile).mode & 0o777).toBe(0o600);
    expect(install.stdout).toContain(`created ${environmentFile}`);
    expect(install.stdout).toContain('now run: systemctl daemon-reload && systemctl enable --now clerk.target');
    expect(install.stdout).toContain('run as root');

    if (systemdAnalyze) {
      const verified = verify(
        UNIT_NAMES.map((name) => path.join(units, name)),
        'system',
      );
      expect(verified.code, verified.stderr).toBe(0);
      expect(verified.complaints).toEqual([]);
    }

    // `systemctl enable clerk.target` would have made this link; uninstall takes it too.
    fs.mkdirSync(path.join(units, 'multi-user.target.wants'));
    fs.symlinkSync('../clerk.target', path.join(units, 'multi-user.target.wants', 'clerk.target'));

    const dryRun = clerk(['uninstall', '--systemd', '--dry-run', '--output-dir', units]);
    expect(dryRun.code, dryRun.stderr).toBe(0);
    for (const name of UNIT_NAMES) expect(dryRun.stdout).toContain(`would remove ${path.join(units, name)}\n`);
    expect(fs.readdirSync(units)).toHaveLength(UNIT_NAMES.length + 2);

    const uninstall = clerk(['uninstall', '--systemd', '--output-dir', units]);
    expect(uninstall.code, uninstall.stderr).toBe(0);
    expect(uninstall.stdout.match(/^removed /gm)).toHaveLength(UNIT_NAMES.length + 1);
    expect(uninstall.stdout).toContain('systemctl stop clerk.target');
    expect(fs.readdirSync(units).sort()).toEqual(['multi-user.target.wants', 'other.service']);
    expect(fs.readdirSync(path.join(units, 'multi-user.target.wants'))).toEqual([]);
    expect(fs.existsSync(environmentFile)).toBe(true); // the operator's settings stay
  });

  it('--user units keep an existing environment file and pass systemd-analyze --user verify', () => {
    const units = path.join(dir, 'user');
    const environmentFile = path.join(dir, 'user-env', 'clerk.env');
    fs.mkdirSync(path.dirname(environmentFile), { recursive: true });
    fs.writeFileSync(environmentFile, 'TEMPORAL_ADDRESS=temporal.example.org:7233\n');

    const install = clerk(['install', '--systemd', '--user', '--output-dir', units, '--environment-file', environmentFile]);
    expect(install.code, install.stderr).toBe(0);
    expect(fs.readdirSync(units).sort()).toEqual([...UNIT_NAMES].sort());
    expect(fs.readFileSync(environmentFile, 'utf8')).toBe('TEMPORAL_ADDRESS=temporal.example.org:7233\n');
    expect(install.stdout).toContain(`kept ${environmentFile}`);
    expect(install.stdout).toContain('now run: systemctl --user daemon-reload && systemctl --user enable --now clerk.target');

    if (systemdAnalyze) {
      const verified = verify(
        UNIT_NAMES.map((name) => path.join(units, name)),
        'user',
      );
      expect(verified.code, verified.stderr).toBe(0);
      expect(verified.complaints).toEqual([]);
    }
  });

  it('refuses --run-as with --user, and a missing --systemd', async () => {
    const runAs = await workersInProcess(['install', '--systemd', '--user', '--run-as', 'clerk', '--dry-run']);
    expect(runAs.error).toBeInstanceOf(CliError);
    expect((runAs.error as CliError).exitCode).toBe(2);
    const missing = await workersInProcess(['install', '--dry-run']);
    expect(missing.error).toBeInstanceOf(CommanderError);
    expect((missing.error as CommanderError).code).toBe('commander.missingMandatoryOptionValue');
  });
});
