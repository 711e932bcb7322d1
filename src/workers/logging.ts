import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';

export type LogFormat = 'json' | 'pretty';
export const logFormats: readonly LogFormat[] = ['json', 'pretty'];

const levels: Record<LogLevel, number> = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };

/** Fields shown first, in this order, by the pretty format: what an operator filters on. */
const leading = ['subdomain', 'stage', 'workflowId', 'activityId', 'activityType', 'attempt', 'taskQueue'];
/** Noise on every SDK activity line: a base64 token nobody reads, and repeated constants. */
const dropped = new Set(['taskToken', 'namespace', 'isLocal']);

/**
 * The worker process's one logger: the Temporal Runtime's logger (so the SDK's own lines, the
 * native core's forwarded lines and `Context.current().log` in activities all come through it)
 * and the worker command's. Every line is one JSON object (`time`, `level`, `msg`, then the
 * metadata: `subdomain`, `stage`, `workflowId`, `activityId`... where known) or, for a person at a
 * terminal, one readable line. It writes to stdout: journald and Docker collect it from there.
 */
export class WorkerLogger implements Logger {
  constructor(
    private readonly format: LogFormat,
    private readonly minimum: LogLevel = 'INFO',
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {}

  log(level: LogLevel, message: string, meta: LogMetadata = {}): void {
    if (levels[level] < levels[this.minimum]) return;
    const fields = Object.fromEntries(Object.entries(meta).filter(([key, value]) => !dropped.has(key) && value !== undefined));
    this.write(this.format === 'json' ? jsonLine(level, message, fields) : prettyLine(level, message, fields));
  }

  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

/** JSON on a pipe (journald, Docker, a log shipper), readable lines on a terminal. */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stdout): LogFormat {
  return stream.isTTY ? 'pretty' : 'json';
}

function jsonLine(level: LogLevel, message: string, fields: Record<string, unknown>): string {
  return JSON.stringify({ time: new Date().toISOString(), level: level.toLowerCase(), msg: message, ...fields }, jsonValue);
}

function prettyLine(level: LogLevel, message: string, fields: Record<string, unknown>): string {
  const keys = [...leading.filter((key) => key in fields), ...Object.keys(fields).filter((key) => !leading.includes(key))];
  const pairs = keys.map((key) => `${key}=${prettyValue(fields[key] instanceof Error ? fields[key].message : fields[key])}`);
  const time = new Date().toISOString().slice(11, 23);
  // A person reads a stack better under the line than escaped inside it.
  const stacks = Object.values(fields).flatMap((value) => (value instanceof Error && value.stack ? [`\n${value.stack.replace(/^/gm, '    ')}`] : []));
  return [time, level.padEnd(5), message, ...pairs].join(' ') + stacks.join('');
}

function prettyValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value, jsonValue);
  return /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}

/** Errors (which JSON.stringify renders as `{}`) keep their message; bigints become numbers' text. */
function jsonValue(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, ...(value.stack ? { stack: value.stack } : {}) };
  if (typeof value === 'bigint') return value.toString();
  return value;
}
