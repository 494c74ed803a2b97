// The error envelope of every failure: non-2xx status and
// {"error_message": "...", "response_status": N} (contract §1, §10).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** Response codes of hitask-docs/errors.md that this server answers with. */
export const Code = {
  OK: 0,
  NOT_FOUND: 1,
  NO_PERMISSIONS: 3,
  IS_MANDATORY: 4,
  INVALID_DATA_FORMAT: 5,
  INVALID_DATA: 6,
  SESSION_NOT_FOUND: 7,
  INVALID_API_KEY: 8,
  INVALID_JSON_VERSION: 9,
  STALE_OBJECT: 10,
  LICENSE_OVERUSE: 12,
  CONTACT_SELF_ADD: 14,
  CONTACT_EXIST: 15,
  USER_ALREADY_IN_BUSINESS: 16,
  OPERATION_NOT_ALLOWED: 17,
  EMAIL_NOT_VALIDATED: 19,
  LIMIT_EXCEED: 20,
  LOGIN_ID_TAKEN: 21,
  EMAIL_ALREADY_REGISTERED: 22,
  EXCEEDED_SIZE: 25,
  PICTURE_UPLOAD_ERROR: 32,
  NOT_BUSINESS_USER: 33,
  INVALID_PICTURE_CROP_PARAMETERS: 34,
  PASSWORD_NOT_MATCH: 36,
  BUSINESS_DOMAIN_NAME_USED: 37,
  REGISTER_INVALID_EMAIL_FORMAT: 38,
  REGISTER_INVALID_LOGIN_FORMAT: 39,
  REGISTER_INVALID_NAME_FORMAT: 40,
  API_KEY_ALREADY_EXISTS: 43,
  INVITATION_USED: 45,
  INVALID_JSON_BODY: 46,
  INVALID_RECURRING_INTERVAL: 47,
  CUSTOM_API_KEY_USAGE_LIMIT_EXCEEDED: 67,
  UNABLE_TO_SHARE_BECAUSE_OF_PROJECT: 73,
  UNABLE_TO_ALTER_PERMISSION_OF_CHILD_TASK: 74,
  UNABLE_TO_ASSIGN_OR_PARTICIPATE_BECAUSE_NO_PERMISSIONS: 75,
  OWNER_CANT_CHANGE_OWN_PERMISSION: 76,
  UNABLE_TO_DOWNGRADE_PERMISSION: 77,
  UNABLE_TO_REMOVE_PERMISSION_OF_ASSIGNEE_OR_PARTICIPANT: 78,
  USER_ALREADY_INVITED_IN_THIS_TEAM: 79,
  SHORT_NAME_ALREADY_USED: 80,
  INTERNAL_ERROR: 100,
  NOT_VALID_PREFERENCES: 102,
  ONE_OF_IS_MANDATORY: 104,
} as const
export type CodeValue = (typeof Code)[keyof typeof Code]

/** HTTP status by code (contract §10). 20 and 25 vary by route: pass the status explicitly. */
export function statusForCode(code: number): number {
  switch (code) {
    case 1:
      return 404
    case 3:
    case 17:
    case 19:
      return 403
    case 7:
    case 8:
      return 401
    case 10:
      return 409
    case 15:
    case 16:
    case 45:
    case 79:
      return 412
    case 67:
      return 429
    case 100:
      return 500
    default:
      return 400
  }
}

export class ApiError extends Error {
  readonly status: number
  constructor(
    readonly code: number,
    message: string,
    status?: number,
    readonly headers?: Record<string, string>,
  ) {
    super(message)
    this.status = status ?? statusForCode(code)
  }
  /** read by plugins (rate-limit) that inspect thrown errors */
  get statusCode() {
    return this.status
  }
}

// Message templates of hitask-docs/errors.md, filled in.
export const errors = {
  notFound: (what = 'Item') => new ApiError(Code.NOT_FOUND, `${what} not found`),
  noPermissions: (detail = '') => new ApiError(Code.NO_PERMISSIONS, `No enough permissions${detail ? ': ' + detail : ''}`),
  mandatory: (field: string) => new ApiError(Code.IS_MANDATORY, `${field} is mandatory`),
  invalidFormat: (field: string) => new ApiError(Code.INVALID_DATA_FORMAT, `Invalid data format of ${field}`),
  invalidData: (field: string, detail = '') => new ApiError(Code.INVALID_DATA, `${field} is not valid${detail ? ' ' + detail : ''}`),
  sessionNotFound: () => new ApiError(Code.SESSION_NOT_FOUND, 'Session not found, please authenticate first'),
  invalidApiKey: () => new ApiError(Code.INVALID_API_KEY, 'Invalid API Key'),
  tooLarge: (field: string, max: number | string, status = 400) =>
    new ApiError(Code.EXCEEDED_SIZE, `Maximum size for ${field} is ${max}`, status),
  oneOfMandatory: (fields: string[]) => new ApiError(Code.ONE_OF_IS_MANDATORY, `One of the parameters ${fields.join(', ')} is mandatory`),
  limitExceeded: (what: string) => new ApiError(Code.LIMIT_EXCEED, `${what} limit exceeded`, 507),
}

export function sendError(reply: FastifyReply, err: ApiError) {
  if (err.headers) reply.headers(err.headers)
  return reply.code(err.status).type('application/json; charset=utf-8').send({ error_message: err.message, response_status: err.code })
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  // PostgreSQL: admin shutdown, crash shutdown, cannot connect now, connection failures
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006',
  // Prisma: can't reach the database, server closed the connection, timeouts
  'P1001', 'P1002', 'P1008', 'P1017', 'P2024',
])

/** The database (or the network to it) is gone: a 503 the client may retry, not a bug. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e: any = error, depth = 0; e && depth < 5; e = e.cause, depth++) {
    if (UNAVAILABLE_CODES.has(e.code) || UNAVAILABLE_CODES.has(e.errno)) return true
    const msg = String(e.message ?? '')
    if (/Connection terminated|connection timeout|Can't reach database|terminating connection|the database system is (starting|shutting) up|Client has encountered a connection error|Cannot use a pool after calling end/i.test(msg)) return true
    if (e.meta?.driverAdapterError?.cause) e = { cause: e.meta.driverAdapterError.cause }
  }
  return false
}

/** Maps every failure to the envelope; unknown errors become 500/100 with the request id logged. */
export function registerErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError | ApiError | Error, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ApiError) return sendError(reply, error)
    const fe = error as FastifyError
    // Fastify's own client errors: body too large, bad content type, malformed body.
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe.code === 'FST_REQ_FILE_TOO_LARGE' || fe.code === 'FST_FILES_LIMIT' || fe.code === 'FST_PARTS_LIMIT' || fe.code === 'FST_FIELDS_LIMIT') {
      return sendError(reply, errors.tooLarge('request body', request.server.initialConfig.bodyLimit ?? 0))
    }
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendError(reply, errors.invalidFormat('request body'))
    if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return sendError(reply, new ApiError(Code.INVALID_JSON_BODY, 'The JSON body you provided in request is invalid'))
    }
    if (fe.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || fe.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') {
      return sendError(reply, errors.invalidFormat('request body'))
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return sendError(reply, new ApiError(Code.INVALID_DATA_FORMAT, 'Invalid data format of request'))
    }
    if (isDatabaseUnavailable(error)) {
      request.log.error({ err: error, reqId: request.id }, 'database unavailable')
      return sendError(reply, new ApiError(Code.INTERNAL_ERROR, 'Service temporarily unavailable, please retry', 503, { 'Retry-After': '5' }))
    }
    request.log.error({ err: error, reqId: request.id }, 'unhandled error')
    return sendError(reply, new ApiError(Code.INTERNAL_ERROR, `Internal error (request ${request.id})`))
  })
  app.setNotFoundHandler((request, reply) => sendError(reply, new ApiError(Code.NOT_FOUND, `Method ${request.method} ${request.url.split('?')[0]} not found`)))
}
