import { compiledScript } from '../runtime/compiled-script.js';
import { PermanentPdfError, permanentPdfError, type PermanentPdfReason } from './errors.js';
import { runWithDeadline } from './subprocess.js';

/**
 * The protocol between a pdf.js child script and its parent: one IPC message, then exit.
 * pdf.js runs in a child process because its parser is synchronous JavaScript that can spin for
 * minutes on a hostile file; only a process can be killed mid-loop without harming the caller.
 */
type ChildReply = { ok: true; value: unknown } | { ok: false; error: { name: string; message: string; reason?: PermanentPdfReason } };

/** Parent side: runs a .ts child script (compiled to plain JS) and turns every way it can end into a value or an error. */
export async function runPdfChild<T>(scriptPath: string, args: string[], options: { timeoutMs: number; pdfPath: string }): Promise<T> {
  const { pdfPath, timeoutMs } = options;
  const outcome = await runWithDeadline(process.execPath, [compiledScript(scriptPath), ...args], { timeoutMs, ipc: true });
  // An answer counts even if the child was slow to exit after giving it.
  const reply = outcome.message as ChildReply | undefined;
  if (reply?.ok) return reply.value as T;
  if (reply) throw errorFromChild(reply.error, pdfPath);
  if (outcome.spawnError) throw outcome.spawnError;
  if (outcome.timedOut) throw permanentPdfError('renderer-timeout', pdfPath, `pdf.js did not finish within ${timeoutMs} ms`);
  const how = outcome.signal ? `killed by ${outcome.signal}` : `exit code ${outcome.exitCode}`;
  throw permanentPdfError('renderer-crashed', pdfPath, `pdf.js process ${how}: ${lastLine(outcome.stderr)}`);
}

/** Child side: runs the work, sends its result or error to the parent, then exits. */
export function answerParent(work: () => Promise<unknown>): void {
  const send = (reply: ChildReply) => {
    // Exit only once the message is flushed; exiting right away can lose it.
    process.send!(reply, () => process.exit(0));
  };
  work().then(
    (value) => send({ ok: true, value }),
    (error: unknown) => {
      const { name = 'Error', message = String(error) } = error instanceof Error ? error : {};
      send({ ok: false, error: { name, message, reason: error instanceof PermanentPdfError ? error.reason : undefined } });
    },
  );
}

/** pdf.js exception names (they cross the IPC boundary as names) mapped to what they mean for the file. */
function errorFromChild(error: { name: string; message: string; reason?: PermanentPdfReason }, pdfPath: string): Error {
  if (error.reason) return new PermanentPdfError(error.reason, error.message);
  switch (error.name) {
    case 'PasswordException':
      return permanentPdfError('encrypted', pdfPath, error.message);
    case 'InvalidPDFException':
    case 'FormatError':
    case 'XRefParseException':
    // pdf.js wraps parser errors it has no class for (a broken xref, a bad object) in this one.
    case 'UnknownErrorException':
      return permanentPdfError('corrupt', pdfPath, `pdf.js: ${error.message}`);
    case 'RangeError':
      return new RangeError(error.message);
    default:
      return new Error(`pdf.js failed on ${pdfPath}: ${error.name}: ${error.message}`);
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) || 'no error output';
}
