import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { workerTypes } from '../../activities/index.js';
import {
  defaultEnvironmentFile,
  enableCommand,
  enableLinkPath,
  environmentFileTemplate,
  stopCommand,
  systemdUnits,
  unitDirectory,
  unitFileNames,
  type SystemdScope,
} from '../../services/systemd.js';
import { CliError, ExitCode } from '../context.js';

/** The checkout this CLI runs from: the units' working directory, with bin/clerk.mjs in it. */
const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface InstallOptions {
  systemd: boolean;
  user?: boolean;
  dryRun?: boolean;
  outputDir?: string;
  environmentFile?: string;
  runAs?: string;
}

interface UninstallOptions {
  systemd: boolean;
  user?: boolean;
  dryRun?: boolean;
  outputDir?: string;
}

/**
 * Runs the workers as services: one systemd unit per worker type and clerk.target over them. Writes
 * files only; it prints the systemctl line to run and never runs systemctl itself.
 */
export function workersCommand(): Command {
  const workers = new Command('workers').description('run the workers as services: install or remove their systemd units');

  workers
    .command('install')
    .description(`write one systemd unit per worker type (${workerTypes.join(', ')}) and clerk.target, which starts them all`)
    .requiredOption('--systemd', 'systemd units (the only kind so far)')
    .option('--user', "units of your own user's systemd (~/.config/systemd/user) instead of system units (/etc/systemd/system, needs root)")
    .option('--dry-run', 'print the files it would write, and write nothing')
    .option('--output-dir <dir>', "write the units here instead of systemd's folder")
    // Not --env-file: Node 20 takes that flag for itself wherever it appears on the command line.
    .option(
      '--environment-file <file>',
      "the units' EnvironmentFile (default /etc/clerk/clerk.env, or ~/.config/clerk/clerk.env with --user); created with comments only when missing",
    )
    .option('--run-as <user>', 'system units: the account the workers run as (default: $SUDO_USER, else root)')
    .action((options: InstallOptions) => install(options));

  workers
    .command('uninstall')
    .description('remove the files `workers install` writes (the environment file stays)')
    .requiredOption('--systemd', 'systemd units (the only kind so far)')
    .option('--user', "units of your own user's systemd instead of system units")
    .option('--dry-run', 'list the files it would remove, and remove nothing')
    .option('--output-dir <dir>', "remove them from here instead of systemd's folder")
    .action((options: UninstallOptions) => uninstall(options));

  return workers;
}

function install(options: InstallOptions): void {
  const scope: SystemdScope = options.user ? 'user' : 'system';
  if (options.runAs && scope === 'user') throw new CliError('--run-as is for system units; --user units run as you', ExitCode.usage);
  const unitDir = unitFolder(scope, options.outputDir);
  const environmentFile = options.environmentFile ? path.resolve(options.environmentFile) : defaultEnvironmentFile(scope, process.env);
  const sudoUser = process.env.SUDO_USER && process.env.SUDO_USER !== 'root' ? process.env.SUDO_USER : undefined;
  const runAs = scope === 'system' ? (options.runAs ?? sudoUser) : undefined;
  if (!fs.existsSync(path.join(repoDir, 'bin', 'clerk.mjs'))) throw new CliError(`no bin/clerk.mjs in ${repoDir}`, ExitCode.failed);

  let units;
  try {
    units = systemdUnits({ scope, workerTypes, node: process.execPath, repoDir, environmentFile, ...(runAs ? { runAs } : {}) });
  } catch (error) {
    throw new CliError((error as Error).message, ExitCode.usage);
  }
  const createEnvironmentFile = !fs.existsSync(environmentFile);

  if (options.dryRun) {
    for (const unit of units) console.log(`# ${path.join(unitDir, unit.name)}\n${unit.text}`);
    console.log(createEnvironmentFile ? `# ${environmentFile} (missing: would be created, mode 0600)\n${environmentFileTemplate(repoDir)}` : `# ${environmentFile} exists and would be kept`);
    console.log(`dry run: wrote nothing. After install, run: ${enableCommand(scope)}`);
    return;
  }

  writeOrExplain(() => fs.mkdirSync(unitDir, { recursive: true }), unitDir, scope);
  for (const unit of units) {
    const file = path.join(unitDir, unit.name);
    writeOrExplain(() => writeFileAtomically(file, unit.text, 0o644), file, scope);
    console.log(`wrote ${file}`);
  }
  if (createEnvironmentFile) {
    writeOrExplain(() => {
      fs.mkdirSync(path.dirname(environmentFile), { recursive: true });
      // It will hold DATABASE_URL and its password: readable by its owner only (systemd reads it as root).
      fs.writeFileSync(environmentFile, environmentFileTemplate(repoDir), { mode: 0o600, flag: 'wx' });
    }, environmentFile, scope);
    console.log(`created ${environmentFile}: set DATABASE_URL, TEMPORAL_ADDRESS and the rest there`);
  } else {
    console.log(`kept ${environmentFile}`);
  }
  if (scope === 'system' && !runAs) console.log('note: the workers will run as root; --run-as <user> (or sudo, which sets SUDO_USER) runs them as that user');
  console.log(`now run: ${enableCommand(scope)}`);
}

function uninstall(options: UninstallOptions): void {
  const scope: SystemdScope = options.user ? 'user' : 'system';
  const unitDir = unitFolder(scope, options.outputDir);
  const files = unitFileNames(workerTypes).map((name) => path.join(unitDir, name));
  const enableLink = path.join(unitDir, enableLinkPath(scope));
  const present = files.filter((file) => fs.existsSync(file));
  if (isSymlink(enableLink)) present.push(enableLink);

  if (present.length === 0) {
    console.log(`nothing to remove: no clerk units in ${unitDir}`);
    return;
  }
  if (options.dryRun) {
    for (const file of present) console.log(`would remove ${file}`);
    console.log('dry run: removed nothing');
    return;
  }
  for (const file of present) {
    writeOrExplain(() => fs.rmSync(file, { force: true }), file, scope);
    console.log(`removed ${file}`);
  }
  console.log('the environment file is kept');
  console.log(`if the workers are running, stop them and reload systemd: ${stopCommand(scope, workerTypes)}`);
}

function unitFolder(scope: SystemdScope, outputDir: string | undefined): string {
  if (outputDir) return path.resolve(outputDir);
  try {
    return unitDirectory(scope, process.env);
  } catch (error) {
    throw new CliError((error as Error).message, ExitCode.usage);
  }
}

/** A reader (systemd, another install) never sees a half-written unit. */
function writeFileAtomically(file: string, text: string, mode: number): void {
  const partial = `${file}.${process.pid}.partial`;
  try {
    fs.writeFileSync(partial, text, { mode });
    fs.chmodSync(partial, mode);
    fs.renameSync(partial, file);
  } finally {
    fs.rmSync(partial, { force: true });
  }
}

function writeOrExplain(work: () => void, file: string, scope: SystemdScope): void {
  try {
    work();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      const hint = scope === 'system' ? ': system units need root (run it with sudo), or use --user' : '';
      throw new CliError(`cannot write ${file} (${code})${hint}`, ExitCode.failed);
    }
    throw error;
  }
}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}
