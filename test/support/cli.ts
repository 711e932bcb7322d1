import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const clerkBin = fileURLToPath(new URL('../../bin/clerk.mjs', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real `clerk` CLI in a child process, with `env` over this process's environment; never rejects. */
export function runClerk(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [clerkBin, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
