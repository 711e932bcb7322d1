import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { platformFixtures, siteAddArguments } from '../../samples/platforms/index.js';
import type { PlatformFixture } from '../../samples/platforms/types.js';
import { CliError, config, ExitCode, printJson } from '../context.js';

/**
 * Serves one fictional municipality per platform, in the platform's real formats, on loopback
 * ports from --port up, and prints the `clerk site add` line for each. It is how a new user (and
 * CI's smoke test) tries every fetcher on a fresh clone without a live municipal website.
 */
export function devFixturesCommand(): Command {
  return new Command('fixtures')
    .description('serve a test municipality for every platform (Legistar, CivicPlus, ...) on loopback, in the foreground, and print how to add each')
    .option('--port <port>', 'first port; each platform takes two from here up', (v) => Number.parseInt(v, 10), 8790)
    .option('--json', 'print the fixtures (site add arguments, expected documents) as JSON once they are up')
    .action(async (options: { port: number; json?: boolean }) => {
      if (!Number.isInteger(options.port) || options.port < 1024 || options.port > 65_000) throw new CliError('--port must be a port from 1024 to 65000', ExitCode.usage);
      const running: { subdomain: string; fetcher: string; fixture: PlatformFixture; args: string[] }[] = [];
      const stop = async () => {
        for (const r of running) await r.fixture.close().catch(() => {});
      };
      try {
        for (const [index, entry] of platformFixtures.entries()) {
          const fixture = await entry.start({
            port: options.port + 2 * index,
            filesPort: options.port + 2 * index + 1,
            folder: path.join(config().dataDir, 'fixtures', entry.subdomain),
          });
          running.push({ subdomain: entry.subdomain, fetcher: entry.fetcher, fixture, args: siteAddArguments(entry, fixture) });
        }
      } catch (error) {
        await stop();
        throw new CliError(`could not start the fixtures from port ${options.port}: ${(error as Error).message}`, ExitCode.unavailable);
      }
      const summary = running.map((r) => ({
        subdomain: r.subdomain,
        fetcher: r.fetcher,
        siteAdd: ['clerk', 'site', 'add', ...r.args],
        documents: r.fixture.expected.length,
        meetings: new Set(r.fixture.expected.map((d) => `${d.meeting}|${d.date}`)).size,
        rejected: r.fixture.expectedRejected,
      }));
      fs.mkdirSync(config().dataDir, { recursive: true });
      fs.writeFileSync(path.join(config().dataDir, 'fixtures.json'), `${JSON.stringify(summary, null, 2)}\n`);
      if (options.json) printJson(summary);
      else {
        console.log('platform fixtures are up (Ctrl-C stops them). Register each with:');
        for (const s of summary) console.log(`  ${s.siteAdd.map(shellQuote).join(' ')}    # ${s.documents} documents, ${s.meetings} meetings`);
        console.log('then: clerk site discover <subdomain>, and clerk enqueue <subdomain> --wait');
      }
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await stop();
    });
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
