// pino options: JSON lines; anything that can carry a secret is redacted wherever it appears.
import type { LoggerOptions } from 'pino'
import type { Config } from './config.js'

/** parameter names that hold a secret (contract §2, §4): redacted up to two levels deep */
const secretKeys = ['password', 'old_password', 'new_password', 'session_id', 'sessionId', 'api_key', 'apiKey', 'token']
/** headers that carry a session or credentials */
const secretHeaders = ['.cookie', '["x-hi-session"]', '.authorization', '["set-cookie"]']

export const redactPaths = [
  ...secretKeys.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
  ...secretHeaders.flatMap((h) => [`headers${h}`, `*.headers${h}`, `*.*.headers${h}`]),
]

/** pino's options, and for Fastify the stream to write to (tests capture the log) */
export function loggerOptions(config: Pick<Config, 'LOG_LEVEL'>, stream?: NodeJS.WritableStream): LoggerOptions & { stream?: NodeJS.WritableStream } {
  return {
    level: config.LOG_LEVEL,
    redact: { paths: redactPaths, censor: '[redacted]' },
    ...(stream ? { stream } : {}),
  }
}
