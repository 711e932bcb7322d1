import fs from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { devServerDynamicConfigArgs, serverGoEnvironment } from '../../src/dev/server-tuning.js';

/** The process of the dev server listening on `port` (started by test/support/global-setup.ts), from /proc. */
function devServerProcess(port: string): { args: string[]; environment: string[] } {
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let args: string[];
    try {
      args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // ended meanwhile
    }
    const portAt = args.indexOf('--port');
    if (args.includes('start-dev') && portAt >= 0 && args[portAt + 1] === port) {
      return { args, environment: fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0') };
    }
  }
  throw new Error(`no dev server process listening on port ${port}`);
}

describe('the embedded dev server', () => {
  const port = inject('temporalAddress').split(':').pop()!;

  it("runs with clerk's dynamic settings and garbage collector setting", () => {
    const server = devServerProcess(port);
    expect(server.args.join(' ')).toContain(devServerDynamicConfigArgs().join(' '));
    expect(server.environment).toContain(`GOGC=${serverGoEnvironment().GOGC}`);
  });
});
