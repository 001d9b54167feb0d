// Logging with pino: one JSON object per line (`{"level":"info","time":"…","msg":"…",…fields}`) for
// log shippers, or pino-pretty's single-line text for people (LOG_FORMAT). Every line — message,
// fields, request logs of pino-http, nested objects — passes through redact() before it is written:
// every configured secret and anything shaped like a credential (`key=…`, `Bearer …`, Google/OpenAI
// key prefixes) is masked. pino's own `redact` option only masks known paths, not credential shapes
// inside free text (an upstream error echoing a key), so redaction works on the finished object.
// The writer is passed in so tests can capture every line.
import pino, { type Logger as PinoLogger, type LevelWithSilent } from 'pino'
import { prettyFactory } from 'pino-pretty'

export type LogLevel = 'info' | 'warn' | 'error'
export type LogFields = Record<string, string | number | boolean | null | undefined>
export type LogFormat = 'json' | 'pretty'
export type LogThreshold = LevelWithSilent

/** What the other modules log through. */
export interface Logger {
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
}

/** The process logger: the Logger interface plus the pino instance under it (for pino-http). */
export interface AppLogger extends Logger {
  readonly pino: PinoLogger
}

const MASK = '[redacted]'

// Credential-looking fragments masked even when the secret is not one we know (e.g. an upstream
// error echoing a key we were never given).
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi
/** `key=…`, `token=…` (query strings, env dumps) */
const ASSIGNED = /\b(key|token|api[_-]?key|access[_-]?token)=[^\s&"',;}]+/gi
/** `"api_key": "…"`, `x-goog-api-key: …` (JSON bodies, headers) */
const COLON = /\b(api[_-]?key|access[_-]?token|x-goog-api-key|authorization)(["']?\s*:\s*["']?)(?!Bearer |Basic )[^\s&"',;}]+/gi
const KEY_SHAPES = [/\bAIza[0-9A-Za-z_-]{20,}/g, /\bsk-[0-9A-Za-z_-]{16,}/g]

export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join(MASK)
  }
  out = out
    .replace(BEARER, (_m, scheme: string) => `${scheme} ${MASK}`)
    .replace(ASSIGNED, (_m, name: string) => `${name}=${MASK}`)
    .replace(COLON, (_m, name: string, sep: string) => `${name}${sep}${MASK}`)
  for (const re of KEY_SHAPES) out = out.replace(re, MASK)
  return out
}

/**
 * A field's value, redacted as if written `name=value` (so a field called `api_key` or `token` is
 * masked whatever it holds, as in a query string), and on its own.
 */
function redactField(name: string, value: string, secrets: readonly string[]): string {
  const joined = redact(`${name}=${value}`, secrets)
  return joined.startsWith(`${name}=`) ? joined.slice(name.length + 1) : redact(value, secrets)
}

/** Deep copy of a parsed log object with every key and string value redacted. */
export function redactObject(value: unknown, secrets: readonly string[], name?: string): unknown {
  if (typeof value === 'string') return name === undefined ? redact(value, secrets) : redactField(name, value, secrets)
  if (Array.isArray(value)) return value.map(v => redactObject(v, secrets))
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      const key = redact(k, secrets)
      out[key] = redactObject(v, secrets, key)
    }
    return out
  }
  return value
}

/** LOG_FORMAT default: pretty on a terminal outside production, JSON lines everywhere else. */
export function defaultLogFormat(env: { NODE_ENV?: string }, isTty: boolean): LogFormat {
  return isTty && env.NODE_ENV !== 'production' ? 'pretty' : 'json'
}

export interface LoggerOptions {
  secrets?: readonly string[]
  /** `json` (default) or `pretty` */
  format?: LogFormat
  /** lowest level written (default `info`); `silent` writes nothing */
  level?: LogThreshold
  /** receives each finished, redacted line (no trailing newline); default: stdout, synchronously */
  write?: (line: string, level: LogLevel) => void
  now?: () => Date
}

const LEVEL_OF: Record<string, LogLevel> = { trace: 'info', debug: 'info', info: 'info', warn: 'warn', error: 'error', fatal: 'error' }

function lineWriter(opts: LoggerOptions): (line: string) => void {
  const secrets = opts.secrets ?? []
  const format = opts.format ?? 'json'
  const pretty = format === 'pretty'
    ? prettyFactory({ colorize: false, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', errorLikeObjectKeys: [] })
    : null
  const sink = opts.write ?? (() => {
    // synchronous: the last lines before process.exit() (start-up failure, shutdown) are not lost
    const dest = pino.destination({ dest: 1, sync: true })
    return (line: string) => { dest.write(line + '\n') }
  })()
  return (raw: string) => {
    let obj: Record<string, unknown>
    try {
      obj = redactObject(JSON.parse(raw), secrets) as Record<string, unknown>
    } catch {
      obj = { level: 'error', time: new Date().toISOString(), msg: redact(raw.trim(), secrets) }
    }
    const level = LEVEL_OF[String(obj.level)] ?? 'info'
    if (pretty && typeof obj.msg === 'string') obj.msg = obj.msg.replace(/[\r\n]+/g, ' ')
    const line = pretty ? pretty(obj).replace(/\n+$/, '') : JSON.stringify(obj)
    sink(line, level)
  }
}

/** A pino logger whose every line is redacted, wrapped in the Logger interface. */
export function createLogger(opts: LoggerOptions = {}): AppLogger {
  const now = opts.now ?? (() => new Date())
  const writeLine = lineWriter(opts)
  const instance = pino({
    level: opts.level ?? 'info',
    base: { pid: process.pid },
    timestamp: () => `,"time":"${now().toISOString()}"`,
    formatters: { level: label => ({ level: label }) },
  }, { write: (chunk: string) => { for (const l of chunk.split('\n')) if (l) writeLine(l) } })
  const log = (level: LogLevel, message: string, fields?: LogFields) => {
    const clean: Record<string, unknown> = {}
    if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined) clean[k] = v
    instance[level](clean, message)
  }
  return {
    pino: instance,
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
  }
}

/** A logger that keeps its JSON lines in memory (tests). */
export function createMemoryLogger(secrets: readonly string[] = []): AppLogger & { lines: string[] } {
  const lines: string[] = []
  const logger = createLogger({ secrets, write: line => { lines.push(line) } })
  return Object.assign(logger, { lines })
}
