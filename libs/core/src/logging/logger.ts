import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { RequestContext } from '../context/request-context';

const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.password',
  '*.client_secret',
  '*.refresh_token',
  '*.access_token',
  '*.token',
  '*.secret',
  '*.credentials',
  '*.repositoryCredentials',
  '*.repository_credentials',
];

/** `scheme://user:password@` anywhere in a text: the password (or token) of a URL. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^/@:\s]+):[^/@\s]+@/gi;

/** The text with the password of every URL in it replaced by ***. */
export function maskUrlPasswords(text: string): string {
  return text.includes('@') ? text.replace(URL_PASSWORD, '$1:***@') : text;
}

/**
 * A copy of a log argument with URL passwords masked in its strings (plain objects, arrays and
 * errors, a few levels deep): a repository URL with credentials can reach a log inside an error
 * (a failed statement's parameters) or a message. Anything else is passed as it is.
 */
export function maskLogArgument(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskUrlPasswords(value);
  if (value === null || typeof value !== 'object' || depth > 5) return value;
  if (Array.isArray(value)) return value.map((v) => maskLogArgument(v, depth + 1));
  if (value instanceof Error) {
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Error & Record<string, unknown>;
    for (const [k, v] of Object.entries(value)) copy[k] = maskLogArgument(v, depth + 1);
    copy.message = maskUrlPasswords(value.message);
    if (value.stack) copy.stack = maskUrlPasswords(value.stack);
    return copy;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskLogArgument(v, depth + 1)]));
}

/** One JSON logger per process; secrets are redacted by path. */
export function createRootLogger(level: string, app: string): Logger {
  return pino({
    level,
    base: { app, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => maskLogArgument(a)) as Parameters<typeof method>);
      },
    },
    formatters: { level: (label) => ({ level: label }) },
  });
}

/**
 * Nest's own start-up chatter: one line per module, controller and route (~200 at start). Written
 * at debug, so that the default level (info) shows what a user needs: the ready lines, warnings,
 * and the generated bootstrap credentials.
 */
export const FRAMEWORK_CONTEXTS: ReadonlySet<string> = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
]);

/** Nest's LoggerService on pino; every line carries the current request (or job) id. */
export class PinoLoggerService implements LoggerService {
  constructor(private readonly root: Logger) {}

  private write(
    level: 'info' | 'error' | 'warn' | 'debug' | 'trace',
    message: unknown,
    context?: string,
    extra?: object,
  ): void {
    const requestId = RequestContext.requestId();
    const fields: Record<string, unknown> = { ...(extra ?? {}) };
    if (context) fields.context = context;
    if (requestId) fields.requestId = requestId;
    if (message instanceof Error) this.root[level]({ ...fields, err: message }, message.message);
    else if (typeof message === 'object' && message !== null) this.root[level]({ ...fields, ...message });
    else this.root[level](fields, String(message));
  }

  /** Nest passes (message, ...optionalParams) where the last string is the context. */
  private split(params: unknown[]): { context?: string; stack?: string } {
    const last = params[params.length - 1];
    const context = typeof last === 'string' ? last : undefined;
    const stack = params.length > 1 && typeof params[0] === 'string' ? (params[0] as string) : undefined;
    return { context, stack };
  }

  log(message: unknown, ...params: unknown[]): void {
    const { context } = this.split(params);
    this.write(context && FRAMEWORK_CONTEXTS.has(context) ? 'debug' : 'info', message, context);
  }
  error(message: unknown, ...params: unknown[]): void {
    const { context, stack } = this.split(params);
    this.write('error', message, context, stack ? { stack } : undefined);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, this.split(params).context);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, this.split(params).context);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, this.split(params).context);
  }
}
