// pino options: JSON lines; anything that can carry a secret is redacted wherever it appears.
import type { Config } from '../config.js'

export const redactPaths = [
  'password',
  '*.password',
  '*.new_password',
  '*.old_password',
  '*.session_id',
  '*.api_key',
  '*.token',
  'req.headers.cookie',
  'req.headers["x-hi-session"]',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
]

export function loggerOptions(config: Pick<Config, 'LOG_LEVEL'>, stream?: NodeJS.WritableStream) {
  return {
    level: config.LOG_LEVEL,
    redact: { paths: redactPaths, censor: '[redacted]' },
    ...(stream ? { stream } : {}),
  } as any
}
