// One line per event, `2026-01-01T00:00:00.000Z INFO message key=value …`, with every configured
// secret and anything shaped like a credential (`key=…`, `Bearer …`, Google/OpenAI key prefixes)
// masked before it is written. The writer is passed in so tests can capture every line.

export type LogLevel = 'info' | 'warn' | 'error'
export type LogFields = Record<string, string | number | boolean | null | undefined>

export interface Logger {
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
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

function formatValue(v: string | number | boolean | null | undefined): string {
  if (v === undefined) return ''
  const s = String(v)
  return /[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : s
}

export interface LoggerOptions {
  secrets?: readonly string[]
  /** receives each finished line (no trailing newline); defaults to stdout/stderr */
  write?: (line: string, level: LogLevel) => void
  now?: () => Date
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const secrets = opts.secrets ?? []
  const write = opts.write ?? ((line: string, level: LogLevel) => {
    if (level === 'error') process.stderr.write(line + '\n')
    else process.stdout.write(line + '\n')
  })
  const now = opts.now ?? (() => new Date())
  const log = (level: LogLevel, message: string, fields?: LogFields) => {
    let line = `${now().toISOString()} ${level.toUpperCase()} ${message.replace(/[\r\n]+/g, ' ')}`
    if (fields) {
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined) continue
        line += ` ${k}=${formatValue(v)}`
      }
    }
    write(redact(line, secrets), level)
  }
  return {
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
  }
}

/** A logger that keeps lines in memory (tests). */
export function createMemoryLogger(secrets: readonly string[] = []): Logger & { lines: string[] } {
  const lines: string[] = []
  const logger = createLogger({ secrets, write: line => { lines.push(line) } })
  return Object.assign(logger, { lines })
}
