import { Command } from 'commander';
import { deploymentHistory, type DeployedVersionEntry } from '../../deploy/history.js';
import { deployEventBody, DeployHookError, hookConfigFor, runDeployHook } from '../../deploy/hook.js';
import { listDeployments } from '../../deploy/records.js';
import { applyRollback, ArchiveIntegrityError, DeployRequestError, NothingToRollBackError, planRollback, type RollbackPlan } from '../../deploy/versions.js';
import type { DeploymentRow } from '../../db/schema.js';
import { parseSubdomain } from '../../sites/subdomain.js';
import { CliError, config, ExitCode, printJson, withDb } from '../context.js';

export function deployCommand(): Command {
  const deploy = new Command('deploy').description("a site's published versions: list them, roll back to one");

  deploy
    .command('list')
    .description("a site's published versions, newest first: which is current, which are still on disk, and what the remote target said")
    .argument('<subdomain>', 'the site')
    .option('--json', 'print JSON')
    .action(async (subdomainArg: string, options: { json?: boolean }) => {
      const subdomain = parseSubdomain(subdomainArg);
      const deployDir = config().deployDir;
      const rows = await deploymentRowsIfReachable(subdomain);
      const versions = deploymentHistory(deployDir, subdomain, rows);
      if (versions.length === 0) throw new CliError(`${subdomain} has no deployments (none recorded, none in ${deployDir})`, ExitCode.usage);
      const current = versions.find((v) => v.current)?.version ?? null;
      if (options.json) return printJson({ site: subdomain, current, database: rows ? 'reachable' : 'unreachable', versions });
      if (!rows) console.error('clerk: Postgres is unreachable: listing the versions on disk only (remote target outcomes unknown)');
      console.log(columns(['', 'version', 'variant', 'published at', 'pages', 'entities', 'votes', 'sha256', 'hook', 'on disk']));
      for (const v of versions) console.log(listLine(v));
    });

  deploy
    .command('rollback')
    .description('switch current to the previous kept version (or --to VERSION) after checking its sha256, then tell the remote target')
    .argument('<subdomain>', 'the site')
    .option('--to <version>', 'the version to switch to (default: the newest kept one older than current)', parseVersion)
    .option('--dry-run', 'check and print what would be switched, change nothing')
    .option('--json', 'print JSON')
    .action(async (subdomainArg: string, options: { to?: number; dryRun?: boolean; json?: boolean }) => {
      const subdomain = parseSubdomain(subdomainArg);
      const deployDir = config().deployDir;
      const plan = await asCliError(() => planRollback(deployDir, subdomain, options.to));
      const summary = `${subdomain}: current ${plan.from === null ? '(none)' : `version ${plan.from}`} -> version ${plan.to} (${plan.manifest.variant}, published ${plan.manifest.publishedAt}, sha256 ${plan.manifest.sha256.slice(0, 12)} verified)`;
      if (options.dryRun) {
        if (options.json) return printJson({ ...rollbackJson(plan), dryRun: true, switched: false, hook: null });
        console.log(`would switch ${summary} (dry run: nothing changed)`);
        return;
      }
      await asCliError(() => applyRollback(deployDir, plan));
      await rollBackSharedStore(plan);
      const hookConfig = hookConfigFor(config().deploy);
      let hook: { status: 'none' | 'ok' | 'failed'; error?: string } = { status: 'none' };
      try {
        hook = await runDeployHook(hookConfig, deployEventBody('rollback', plan.manifest, plan.archivePath, hookConfig.publicUrl));
      } catch (error) {
        if (!(error instanceof DeployHookError)) throw error;
        hook = { status: 'failed', error: error.message };
      }
      if (options.json) printJson({ ...rollbackJson(plan), dryRun: false, switched: true, hook: hook.status, ...(hook.error ? { hookError: hook.error } : {}) });
      else console.log(`switched ${summary}${hook.status === 'ok' ? '; remote target told' : ''}`);
      if (hook.status === 'failed') {
        throw new CliError(`the rollback stands locally (current is version ${plan.to}), but ${hook.error}`, ExitCode.failed);
      }
    });

  return deploy;
}

/**
 * With a remote store, hosts serve what the store's pointer names: move it too, or the rollback
 * would stay on this host. The local switch already stands when this fails.
 */
async function rollBackSharedStore(plan: RollbackPlan): Promise<void> {
  const { openDocumentStore } = await import('../../storage/open.js');
  const store = openDocumentStore(config());
  if (!store.remote) return;
  const { rollBackStore } = await import('../../deploy/store-publish.js');
  try {
    await rollBackStore(store, config().deployDir, plan.manifest);
  } catch (error) {
    throw new CliError(`the rollback stands on this host (current is version ${plan.to}), but the shared store was not switched: ${(error as Error).message}`, ExitCode.failed);
  }
}

/**
 * The deployments table's rows, or null when Postgres cannot be reached: the versions on disk are
 * still worth listing in an incident, when a rollback is most likely.
 */
async function deploymentRowsIfReachable(subdomain: string): Promise<DeploymentRow[] | null> {
  try {
    return await withDb((db) => listDeployments(db, subdomain));
  } catch (error) {
    if (error instanceof CliError && error.exitCode === ExitCode.unavailable) return null;
    throw error;
  }
}

/** `*` marks the current version; hook `?` means only the folder knows the version. */
function listLine(v: DeployedVersionEntry): string {
  const line = columns([
    v.current ? '*' : '',
    String(v.version),
    v.variant,
    v.publishedAt,
    String(v.pages),
    String(v.entities),
    String(v.votes),
    v.sha256.slice(0, 8),
    v.hookStatus ?? '?',
    v.onDisk ? 'yes' : 'pruned',
  ]);
  return v.hookError ? `${line}\n    hook error: ${v.hookError}` : line;
}

const WIDTHS = [1, -7, 7, 24, -6, -8, -5, 8, 7, 0];

/** Fixed-width columns: a negative width right-aligns (numbers). */
function columns(cells: string[]): string {
  return cells
    .map((cell, i) => {
      const width = WIDTHS[i]!;
      return width < 0 ? cell.padStart(-width) : cell.padEnd(width);
    })
    .join('  ')
    .trimEnd();
}

function rollbackJson(plan: RollbackPlan) {
  const { manifest } = plan;
  return { site: plan.subdomain, from: plan.from, to: plan.to, variant: manifest.variant, sha256: manifest.sha256, publishedAt: manifest.publishedAt, path: plan.archivePath };
}

function parseVersion(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new CliError(`--to must be a version number like 3, got "${value}"`, ExitCode.usage);
  return Number(value);
}

/** A bad request (a version not on disk) exits 2; nothing to roll back to, or a corrupted archive, exits 1. */
async function asCliError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DeployRequestError) throw new CliError(error.message, ExitCode.usage);
    if (error instanceof NothingToRollBackError || error instanceof ArchiveIntegrityError) throw new CliError(error.message, ExitCode.failed);
    throw error;
  }
}
